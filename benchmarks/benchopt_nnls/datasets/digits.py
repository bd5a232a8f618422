"""A real dictionary, offline: scikit-learn's bundled 8x8 digit images.

The columns of A are 1000 training digits (64 pixels each); b is a held-out digit, to be
written as a non-negative combination of them (a 64 x 1000 problem, heavily underdetermined).
"""

from benchopt import BaseDataset


class Dataset(BaseDataset):
    name = "digits"
    requirements = ["scikit-learn"]
    parameters = {"n_atoms": [1000]}

    def get_data(self):
        from sklearn.datasets import load_digits

        images = load_digits().data / 16.0
        A = images[: self.n_atoms].T
        b = images[-1]
        return {"A": A, "b": b}
