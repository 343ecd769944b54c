"""`python -m sketch_rnn_tf ...`: see sketch_rnn_tf/cli.py."""

import sys

from .cli import main

sys.exit(main())
