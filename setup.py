"""Installs sketch_rnn_tf: sketch-rnn (Ha & Eck, 2017) in TensorFlow 2 / Keras 3."""

from setuptools import find_packages, setup

# Ranges, not pins: the package installs beside the TensorFlow a user already has. The floors are
# the lowest versions CI tests (ci/constraints-lowest.txt); the newest are pinned exactly in
# ci/constraints-latest.txt, which CI installs with, so CI stays reproducible. An upper bound only
# where a known break requires one. A new dependency goes here with its floor, and into both
# constraints files: its floor in constraints-lowest.txt, the version CI tests in
# constraints-latest.txt. README.md's "Install" section says what is supported.
INSTALL_REQUIRES = [
    # TensorFlow 2.20 itself requires keras>=3.10 (2.21: keras>=3.12).
    "tensorflow>=2.20",
    "keras>=3.10",
    # tensorflow-probability 0.25 imports tf_keras on first use and fails without it. Each tf-keras
    # release requires its own TensorFlow minor release (tf-keras 2.20.1: tensorflow>=2.20,<2.21),
    # so pip picks the one that goes with the TensorFlow installed.
    "tf-keras>=2.20",
    # 0.23 fails at import under Keras 3 (tf.keras.__internal__); 0.24 and 0.25 pass.
    "tensorflow-probability>=0.24",
    # numpy 2.3 changed float32 summation: below it the packed data's streamed scale factor no
    # longer equals np.std bit for bit (tests/test_data_packed.py). TensorFlow 2.19 wants <2.2.
    "numpy>=2.3",
    "absl-py>=1.0",
    "svgwrite>=1.4",
    "tqdm>=4.60",
    # SVG drawings in (sketch_rnn_tf.data.svg_reader): paths, shapes, arcs, every transform,
    # use/defs, viewBox and styles; pure Python, no dependencies; SVG.parse(on_error=) is 1.9.3+.
    "svgelements>=1.9.3",
    # PNG and GIF out (sketch_rnn_tf.rendering.raster): rasterises the package's own SVG, so a PNG
    # never disagrees with its SVG; abi3 wheels for Linux, macOS and Windows, no system library.
    "resvg-py>=0.5",
    # GIF frames (sketch_rnn_tf.rendering.animation).
    "pillow>=10.0",
    # TensorFlow 2.21 no longer installs TensorBoard, which tf.summary needs.
    "tensorboard>=2.20",
]

# The test tools (what CI and developers run, not what users install): bare names and known
# breaks only; the versions CI uses are pinned in ci/constraints-test.txt, which both CI
# constraints files include.
EXTRAS = {
    "test": [
        "pytest",
        # The README's test command runs the suite in 2 processes (-n 2; pytest.ini keeps each
        # file in one of them, --dist loadfile, so its module fixtures are built once).
        "pytest-xdist",
        "nbclient",
        "nbformat",
        "ipykernel",
        # tests/test_wheel.py builds the wheel offline (pip wheel --no-build-isolation);
        # setuptools >= 70.1 carries bdist_wheel itself.
        "setuptools>=70.1",
        # The drawing page's browser test (tests/test_serve_browser.py) drives Debian's chromium
        # through its chromedriver; 4.52 needs a newer certifi than the package index has.
        "selenium<4.52",
        # tests/test_style.py runs `ruff check` with the configuration in pyproject.toml.
        "ruff",
        # tests/test_jax_trainer.py holds tools/jax_gpu/train_jax.py (the trainer for GPU machines
        # that have JAX but not TensorFlow) to the package's numbers: forward pass and gradients.
        "jax",
        "jaxlib",
        "scipy",
    ],
}

setup(
    name="sketch_rnn_tf",
    version="0.1.0",
    description="sketch-rnn in TensorFlow 2 / Keras, faithful to Magenta's checkpoints",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    # numpy 2.3 (the floor above) needs Python 3.11.
    python_requires=">=3.11",
    # The bundled models live in the repository's top-level checkpoints/ and install as
    # sketch_rnn_tf/checkpoints/<name>/ (found by sketch_rnn_tf.presets; MANIFEST.in puts them in
    # the sdist).
    packages=find_packages(include=["sketch_rnn_tf", "sketch_rnn_tf.*"])
    + ["sketch_rnn_tf.checkpoints"],
    package_dir={"sketch_rnn_tf.checkpoints": "checkpoints"},
    package_data={
        "sketch_rnn_tf.checkpoints": ["README.md", "*/*"],
        # The drawing page of `python -m sketch_rnn_tf serve`.
        "sketch_rnn_tf.serve": ["static/*.html", "static/*.js", "static/*.css"],
    },
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["sketch_rnn_tf=sketch_rnn_tf.cli:main"]},
)
