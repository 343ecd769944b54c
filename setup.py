"""Installs sketch_rnn_tf: sketch-rnn (Ha & Eck, 2017) in TensorFlow 2 / Keras 3."""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    # TensorFlow 2.21 with Keras 3.15. tensorflow-probability 0.25 imports tf_keras on first use and
    # fails without it, so tf-keras is pinned to the same TensorFlow release.
    "tensorflow==2.21.0",
    "keras==3.15.1",
    "tf-keras==2.21.0",
    "tensorflow-probability==0.25.0",
    "numpy==2.4.6",
    "absl-py==2.5.1",
    "svgwrite==1.4.3",
    # SVG drawings in (sketch_rnn_tf.data.svg): paths, shapes, arcs, every transform, use/defs,
    # viewBox and styles; pure Python, no dependencies.
    "svgelements==1.9.6",
    # PNG and GIF out (sketch_rnn_tf.rendering.raster): rasterises the package's own SVG, so a PNG
    # never disagrees with its SVG; abi3 wheels for Linux, macOS and Windows, no system library.
    "resvg-py==0.5.0",
    # GIF frames (sketch_rnn_tf.rendering.animation); TensorBoard installs it too.
    "pillow==13.0.0",
    "tqdm==4.70.1",
    # TensorFlow 2.21 no longer installs TensorBoard, which tf.summary needs.
    "tensorboard==2.21.0",
]

EXTRAS = {
    "test": [
        "pytest==9.0.3",
        "nbclient==0.11.0",
        "nbformat==5.11.1",
        "ipykernel==7.4.0",
        # tests/test_presets.py builds the wheel offline (pip wheel --no-build-isolation);
        # setuptools >= 70.1 carries bdist_wheel itself.
        "setuptools==84.2.1",
        # The drawing page's browser test (tests/test_serve_browser.py) drives Debian's chromium
        # through its chromedriver; 4.52 needs a newer certifi than the package index has.
        "selenium==4.51.0",
        # tests/test_style.py runs `ruff check` with the configuration in pyproject.toml.
        "ruff==0.17.6",
        # tests/test_jax_trainer.py holds tools/jax_gpu/train_jax.py (the trainer for GPU machines
        # that have JAX but not TensorFlow) to the package's numbers: forward pass and gradients.
        "jax==0.10.2",
        "jaxlib==0.10.2",
        "scipy==1.17.1",
    ],
}

setup(
    name="sketch_rnn_tf",
    version="0.1.0",
    description="sketch-rnn in TensorFlow 2 / Keras, faithful to Magenta's checkpoints",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
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
