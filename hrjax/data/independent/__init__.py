"""A second synthetic face generator, written independently of `hrjax.data.synthetic` (it
imports nothing from it): its own face model, pulse model, motion, lighting and camera.
Used only as a test set: a model trained on one generator and tested on the other shows
whether it learned faces and pulses or one generator's quirks."""
