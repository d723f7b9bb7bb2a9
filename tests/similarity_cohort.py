"""A cohort of 300 submissions of one assignment, with 5 planted copies.

The assignment is the study group's session 3 (corpus
`d2l-study-group__exercises_section-03.md`, on the book's
`d2l__linear-regression-scratch.ipynb`): linear regression from scratch with a
hand-written backward pass. Each exercise has several genuinely different
solutions (different algorithms, library calls and structure), each with its
own small choices, so two honest students rarely write the same lines, while
the textbook idioms everyone writes are shared by many. Some students hand in
the starter template with (almost) nothing filled in.

The planted copies are made the way copiers work: a find-and-replace of
names, cells moved around, comments rewritten, literals changed, and one that
does all of it and writes part of the work itself. Deterministic for a seed.
"""

from __future__ import annotations

import ast
import keyword
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from grader.core.model import Cell
from grader.core.similarity import Submission

R = random.Random
Solution = Callable[[R, dict[str, str]], str]

# --- the starter notebook and the hand-out ----------------------------------

STARTER_SOURCES: list[tuple[str, str]] = [
    (
        "markdown",
        "# Linear regression from scratch\n\nSession 3. Implement `backward()` "
        "yourself: compute the gradients by hand, then train the model with them.",
    ),
    ("code", "%matplotlib inline\nimport random\nimport torch\nfrom d2l import torch as d2l"),
    (
        "markdown",
        "## The data\n\nThe cell below makes a synthetic data set with known "
        "parameters, so you can check what your model learns.",
    ),
    (
        "code",
        "def synthetic_data(w, b, num_examples):\n"
        '    """Generate y = Xw + b + noise."""\n'
        "    X = torch.normal(0, 1, (num_examples, len(w)))\n"
        "    y = torch.matmul(X, w) + b\n"
        "    y += torch.normal(0, 0.01, y.shape)\n"
        "    return X, y.reshape((-1, 1))\n\n"
        "true_w = torch.tensor([2, -3.4])\n"
        "true_b = 4.2\n"
        "features, labels = synthetic_data(true_w, true_b, 1000)",
    ),
]
EXERCISES = [
    ("1", "code", "Write a function that yields random minibatches of `features` and `labels`."),
    ("2", "code", "Define the linear model and the squared loss."),
    (
        "3",
        "code",
        "Implement `backward()`: the gradients of the loss with respect to the "
        "weights and the bias, computed by hand (no autograd).",
    ),
    ("4", "code", "Train the model with minibatch SGD using your gradients."),
    ("5", "code", "Compare the learned parameters with the true ones."),
    (
        "6",
        "markdown",
        "What happens when the learning rate is too large, or the weights "
        "start at zero? Explain in a few sentences.",
    ),
    ("7", "markdown", "Summarise the chapter in your own words."),
]
PLACEHOLDER = {
    "code": "# YOUR CODE HERE\nraise NotImplementedError()",
    "markdown": "YOUR ANSWER HERE",
}

HANDOUT = '''class Accumulator:
    """For accumulating sums over n variables."""
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]
'''


def starter_sources() -> list[tuple[str, str, tuple[str, ...]]]:
    out = [(kind, text, ()) for kind, text in STARTER_SOURCES]
    for eid, kind, prompt in EXERCISES:
        out.append(("markdown", f"## Exercise {eid}\n\n{prompt}", ()))
        out.append((kind, PLACEHOLDER[kind], (f"exercise-{eid}",)))
    return out


def as_cells(sources: list[tuple[str, str, tuple[str, ...]]]) -> tuple[Cell, ...]:
    return tuple(
        Cell(index=i, cell_type=kind, source=text, tags=tags)  # type: ignore[arg-type]
        for i, (kind, text, tags) in enumerate(sources)
    )


def starter() -> tuple[Cell, ...]:
    return as_cells(starter_sources())


# --- names and small choices -----------------------------------------------

NAMES = {
    "X": ["X", "features", "inputs", "x_train", "feats"],
    "y": ["y", "labels", "targets", "y_true", "ys"],
    "w": ["w", "weights", "W", "theta", "coef"],
    "b": ["b", "bias", "b0", "intercept"],
    "lr": ["lr", "learning_rate", "alpha", "eta", "step_size"],
    "epochs": ["num_epochs", "epochs", "n_epochs", "max_epochs"],
    "bs": ["batch_size", "bs", "batch", "mb_size"],
    "it": ["data_iter", "batches", "minibatches", "iterate_minibatches", "get_batches"],
    "net": ["linreg", "model", "predict", "forward", "net"],
    "loss": ["squared_loss", "loss_fn", "mse", "loss", "l2_loss"],
    "grad": ["backward", "compute_grads", "gradients", "grad_fn", "manual_backward"],
    "err": ["err", "diff", "residual", "delta", "r"],
}


def names(rng: R) -> dict[str, str]:
    return {key: rng.choice(options) for key, options in NAMES.items()}


def maybe(rng: R, text: str, p: float = 0.5) -> str:
    return text if rng.random() < p else ""


def lines(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def num(rng: R, *options: str) -> str:
    return rng.choice(options)


# --- exercise 1: minibatches ------------------------------------------------


def batches_generator(rng: R, n: dict[str, str]) -> str:
    size = maybe(rng, "    num_examples = len({X})", 0.6)
    count = "num_examples" if size else "len({X})"
    index = rng.choice(
        [f"torch.tensor(indices[i: min(i + {{bs}}, {count})])", "indices[i: i + {bs}]"]
    )
    return lines(
        "def {it}({bs}, {X}, {y}):",
        maybe(rng, '    """Shuffle the examples, then read them in batches."""', 0.4),
        size,
        f"    indices = list(range({count}))",
        "    random.shuffle(indices)",
        f"    for i in range(0, {count}, {{bs}}):",
        "        batch_indices = " + index,
        "        yield {X}[batch_indices], {y}[batch_indices]",
    ).format(**n)


def batches_randperm(rng: R, n: dict[str, str]) -> str:
    shuffle = rng.random() < 0.5
    order = (
        "torch.randperm({X}.shape[0]) if shuffle else torch.arange({X}.shape[0])"
        if shuffle
        else "torch.randperm(len({X}))"
    )
    stop = rng.random() < 0.5
    return lines(
        "def {it}({X}, {y}, {bs}%s):" % (", shuffle=True" if shuffle else ""),
        "    perm = " + order,
        "    for start in range(0, len(perm), {bs}):",
        "        stop = min(start + {bs}, len(perm))" if stop else "",
        "        sel = perm[start:%s]" % ("stop" if stop else "start + {bs}"),
        "        yield {X}[sel], {y}[sel]",
    ).format(**n)


def batches_dataloader(rng: R, n: dict[str, str]) -> str:
    workers = maybe(rng, ", num_workers=0", 0.3)
    return (
        lines(
            "from torch.utils.data import TensorDataset, DataLoader",
            "",
            "dataset = TensorDataset({X}, {y})"
            if rng.random() < 0.5
            else "dataset = TensorDataset(*({X}, {y}))",
            "{{it}} = DataLoader(dataset, batch_size={}, shuffle=True{})".format(
                num(rng, "10", "32", "16", "{bs}"), workers
            ),
            maybe(rng, "print(len({it}), 'batches per epoch')", 0.5),
        )
        .format(**n)
        .replace("{bs}", "10")
    )


def batches_class(rng: R, n: dict[str, str]) -> str:
    return lines(
        "class Batcher:",
        "    def __init__(self, data, target, size):",
        "        self.data, self.target, self.size = data, target, size",
        "",
        "    def __len__(self):",
        "        return (len(self.data) + self.size - 1) // self.size",
        "",
        "    def __iter__(self):",
        "        order = torch.randperm(len(self.data))"
        if rng.random() < 0.5
        else "        order = list(range(len(self.data)))\n        random.shuffle(order)",
        "        for k in range(len(self)):",
        "            chunk = order[k * self.size:(k + 1) * self.size]",
        "            yield self.data[chunk], self.target[chunk]",
        "",
        "{{it}} = Batcher({{X}}, {{y}}, {})".format(num(rng, "10", "20", "64")),
    ).format(**n)


def batches_numpy(rng: R, n: dict[str, str]) -> str:
    return lines(
        "import numpy as np",
        "",
        "def {it}({X}, {y}, {bs}):",
        "    rng = np.random.default_rng({})".format(num(rng, "0", "42", "7"))
        if rng.random() < 0.5
        else "    rng = np.random",
        "    order = rng.permutation(len({X}))",
        "    for chunk in np.array_split(order, max(1, len({X}) // {bs})):",
        "        yield {X}[chunk], {y}[chunk]"
        if rng.random() < 0.5
        else "        chunk = torch.as_tensor(chunk)\n        yield {X}[chunk], {y}[chunk]",
    ).format(**n)


# --- exercise 2: model and loss ----------------------------------------------


def model_functions(rng: R, n: dict[str, str]) -> str:
    body = rng.choice(
        ["torch.matmul({X}, {w}) + {b}", "{X} @ {w} + {b}", "torch.mm({X}, {w}) + {b}"]
    )
    loss = rng.choice(
        [
            "(y_hat - {y}.reshape(y_hat.shape)) ** 2 / 2",
            "((y_hat - {y}) ** 2).mean()",
            "0.5 * (y_hat - {y}.view(-1, 1)) ** 2",
        ]
    )
    return lines(
        "def {net}({X}, {w}, {b}):",
        maybe(rng, '    """The linear regression model."""', 0.5),
        "    return " + body,
        "",
        "def {loss}(y_hat, {y}):",
        "    return " + loss,
        maybe(rng, "\n{w} = torch.normal(0, 0.01, size=(2, 1))\n{b} = torch.zeros(1)", 0.7),
    ).format(**n)


def model_class(rng: R, n: dict[str, str]) -> str:
    call = rng.choice(["__call__", "forward"])
    return lines(
        "class LinearRegressionScratch:",
        "    def __init__(self, num_inputs, sigma=0.01):",
        "        self.w = torch.normal(0, sigma, (num_inputs, 1))",
        "        self.b = torch.zeros(1)"
        if rng.random() < 0.6
        else "        self.b = torch.tensor([0.0])",
        "",
        f"    def {call}(self, X):",
        "        return X @ self.w + self.b"
        if rng.random() < 0.5
        else "        return torch.addmm(self.b, X, self.w)",
        "",
        "    def loss(self, y_hat, y):",
        "        return ((y_hat - y) ** 2).mean() / 2"
        if rng.random() < 0.5
        else "        l = (y_hat - y) ** 2 / 2\n        return l.mean()",
        "",
        "{net} = LinearRegressionScratch(2)",
    ).format(**n)


def model_lambdas(rng: R, n: dict[str, str]) -> str:
    return lines(
        "{w} = torch.zeros((2, 1))" if rng.random() < 0.5 else "{w} = torch.randn(2, 1) * 0.01",
        "{b} = torch.zeros(1)",
        "{net} = lambda inp: inp @ {w} + {b}",
        "{loss} = lambda pred, target: ((pred - target) ** 2).sum() / (2 * len(target))"
        if rng.random() < 0.5
        else "{loss} = lambda pred, target: torch.mean((pred - target) ** 2)",
    ).format(**n)


def model_numpy(rng: R, n: dict[str, str]) -> str:
    return lines(
        "import numpy as np",
        "",
        "Xn, yn = {X}.numpy(), {y}.numpy()",
        "{w} = np.random.normal(scale=0.01, size=(Xn.shape[1], 1))",
        "{b} = 0.0",
        "",
        "def {net}(data, {w}, {b}):",
        "    return np.dot(data, {w}) + {b}"
        if rng.random() < 0.5
        else "    return data.dot({w}) + {b}",
        "",
        "def {loss}(pred, target):",
        "    return np.mean(np.square(pred - target))"
        if rng.random() < 0.5
        else "    return float(np.sum((pred - target) ** 2) / len(target))",
    ).format(**n)


def model_einsum(rng: R, n: dict[str, str]) -> str:
    return lines(
        "params = {{'w': torch.normal(0.0, 0.01, (2, 1)), 'b': torch.zeros(1)}}",
        "",
        "def {net}(batch, params):",
        "    out = torch.einsum('nd,dk->nk', batch, params['w'])",
        "    return out + params['b']",
        "",
        "def {loss}(pred, target):",
        "    residuals = pred - target.reshape(pred.shape)",
        "    return torch.sum(residuals * residuals) / (2 * residuals.numel())"
        if rng.random() < 0.5
        else "    return residuals.pow(2).mean()",
    ).format(**n)


# --- exercise 3: backward ------------------------------------------------------


def backward_vector(rng: R, n: dict[str, str]) -> str:
    scale = rng.choice(["/ m", "* (1 / m)", "/ len({X})"])
    return lines(
        "def {grad}({X}, {y}, y_hat):",
        maybe(rng, "    # dL/dw = X^T (y_hat - y) / m and dL/db = mean(y_hat - y)", 0.5),
        "    m = {X}.shape[0]",
        "    {err} = y_hat - {y}.reshape(y_hat.shape)",
        f"    grad_w = {{X}}.T @ {{err}} {scale}"
        if rng.random() < 0.5
        else f"    grad_w = torch.matmul({{X}}.t(), {{err}}) {scale}",
        "    grad_b = {err}.mean()"
        if rng.random() < 0.5
        else f"    grad_b = {{err}}.sum() {scale}",
        "    return grad_w, grad_b"
        if rng.random() < 0.7
        else "    return {{'w': grad_w, 'b': grad_b}}",
    ).format(**n)


def backward_loop(rng: R, n: dict[str, str]) -> str:
    return lines(
        "def {grad}({X}, {y}, {w}, {b}):",
        "    grad_w = torch.zeros_like({w})",
        "    grad_b = 0.0",
        "    for xi, yi in zip({X}, {y}):",
        "        pred = (xi * {w}.squeeze()).sum() + {b}"
        if rng.random() < 0.5
        else "        pred = torch.dot(xi, {w}[:, 0]) + {b}",
        "        {err} = pred - yi",
        "        grad_w += {err} * xi.reshape(-1, 1)",
        "        grad_b += {err}",
        "    return grad_w / len({X}), grad_b / len({X})",
    ).format(**n)


def backward_features(rng: R, n: dict[str, str]) -> str:
    return lines(
        "def {grad}({X}, {y}, y_hat):",
        "    {err} = (y_hat - {y}).flatten()",
        "    grads = []",
        "    for j in range({X}.shape[1]):",
        "        grads.append(torch.mean({err} * {X}[:, j]))",
        "    grad_w = torch.stack(grads).unsqueeze(1)"
        if rng.random() < 0.5
        else "    grad_w = torch.tensor(grads).view(-1, 1)",
        "    grad_b = torch.mean({err})",
        "    return grad_w, grad_b",
    ).format(**n)


def backward_layers(rng: R, n: dict[str, str]) -> str:
    return lines(
        "class Linear:",
        "    def __init__(self, w, b):",
        "        self.w, self.b = w, b",
        "",
        "    def forward(self, x):",
        "        self.x = x",
        "        return x @ self.w + self.b",
        "",
        "    def backward(self, grad_out):",
        "        self.dw = self.x.T @ grad_out",
        "        self.db = grad_out.sum(0)",
        "        return grad_out @ self.w.T",
        "",
        "class MSE:",
        "    def forward(self, pred, target):",
        "        self.diff = pred - target",
        "        return (self.diff ** 2).mean() / 2"
        if rng.random() < 0.5
        else "        return 0.5 * torch.mean(self.diff ** 2)",
        "",
        "    def backward(self):",
        "        return self.diff / self.diff.shape[0]",
    ).format(**n)


def backward_numeric(rng: R, n: dict[str, str]) -> str:
    return lines(
        "def {grad}({X}, {y}, {w}, {b}):",
        "    y_hat = {X} @ {w} + {b}",
        "    {err} = y_hat - {y}",
        "    return {X}.T @ {err} / len({y}), {err}.mean()",
        "",
        "def numeric_grad(f, param, eps=1e-4):",
        "    g = torch.zeros_like(param)",
        "    for idx in range(param.numel()):",
        "        old = param.view(-1)[idx].item()",
        "        param.view(-1)[idx] = old + eps",
        "        up = f()",
        "        param.view(-1)[idx] = old - eps",
        "        down = f()",
        "        param.view(-1)[idx] = old",
        "        g.view(-1)[idx] = (up - down) / (2 * eps)",
        "    return g",
        maybe(rng, "\n# the analytic gradient should agree with the numeric one", 0.5),
    ).format(**n)


# --- exercise 4: training --------------------------------------------------------


def train_epochs(rng: R, n: dict[str, str]) -> str:
    log = rng.choice(
        [
            "print(f'epoch {{epoch + 1}}, loss {{float(l):f}}')",
            "print('epoch', epoch, 'loss', l.item())",
            "history.append(float(l))",
        ]
    )
    return lines(
        "{{lr}}, {{epochs}} = {}, {}".format(
            num(rng, "0.03", "0.05", "0.1"), num(rng, "3", "5", "10")
        ),
        "history = []" if "history" in log else "",
        "for epoch in range({epochs}):",
        "    for xb, yb in {{it}}({}):".format(
            rng.choice(["10, features, labels", "features, labels, 10"])
        ),
        "        y_hat = xb @ {w} + {b}",
        "        grad_w, grad_b = {grad}(xb, yb, y_hat)",
        "        {w} -= {lr} * grad_w",
        "        {b} -= {lr} * grad_b",
        "    l = ((features @ {w} + {b} - labels) ** 2).mean() / 2",
        "    " + log,
    ).format(**n)


def train_full_batch(rng: R, n: dict[str, str]) -> str:
    return lines(
        "{w} = torch.zeros(2, 1)",
        "{b} = torch.zeros(1)",
        "step, prev = 0, float('inf')",
        "while True:",
        "    {err} = features @ {w} + {b} - labels",
        "    current = float((({err}) ** 2).mean())",
        "    if abs(prev - current) < {} or step >= {}:".format(
            num(rng, "1e-9", "1e-8", "1e-7"), num(rng, "1000", "5000", "2000")
        ),
        "        break",
        "    {{w}} = {{w}} - {} * features.T @ {{err}} / len(labels)".format(
            num(rng, "0.1", "0.2", "0.5")
        ),
        "    {{b}} = {{b}} - {} * {{err}}.mean()".format(num(rng, "0.1", "0.2", "0.5")),
        "    prev, step = current, step + 1",
        maybe(rng, "print('stopped after', step, 'steps at loss', current)", 0.7),
    ).format(**n)


def train_class(rng: R, n: dict[str, str]) -> str:
    return lines(
        "class Trainer:",
        "    def __init__(self, model, lr, epochs):",
        "        self.model, self.lr, self.epochs = model, lr, epochs",
        "        self.losses = []",
        "",
        "    def fit(self, data, target, size={}):".format(num(rng, "10", "32", "50")),
        "        for _ in range(self.epochs):",
        "            order = torch.randperm(len(data))",
        "            for s in range(0, len(data), size):",
        "                idx = order[s:s + size]",
        "                xb, yb = data[idx], target[idx]",
        "                d = self.model(xb) - yb",
        "                self.model.w -= self.lr * xb.T @ d / len(idx)",
        "                self.model.b -= self.lr * d.mean()",
        "            self.losses.append(float(((self.model(data) - target) ** 2).mean()))",
        "",
        "trainer = Trainer({{net}}, lr={}, epochs={})".format(
            num(rng, "0.03", "0.1"), num(rng, "3", "8")
        ),
        "trainer.fit(features, labels)",
    ).format(**n)


def train_momentum(rng: R, n: dict[str, str]) -> str:
    step = num(rng, "0.01", "0.02")
    return (
        lines(
            "{w}, {b} = torch.normal(0, 0.01, (2, 1)), torch.zeros(1)",
            "v_w, v_b = torch.zeros_like({w}), torch.zeros_like({b})",
            "beta = {}".format(num(rng, "0.9", "0.5", "0.8")),
            "for epoch in range({}):".format(num(rng, "5", "10")),
            "    for xb, yb in {{it}}(features, labels, {}):".format(num(rng, "10", "25")),
            "        gw, gb = {grad}(xb, yb, xb @ {w} + {b})",
            "        v_w = beta * v_w + gw",
            "        v_b = beta * v_b + gb",
            "        {w}, {b} = {w} - {{step}} * v_w, {b} - {{step}} * v_b",
        )
        .format(**n)
        .replace("{step}", step)
    )


def train_schedule(rng: R, n: dict[str, str]) -> str:
    return lines(
        "losses = []",
        "{{lr}} = {}".format(num(rng, "0.1", "0.3")),
        "for epoch in range({}):".format(num(rng, "4", "6")),
        "    for xb, yb in {{it}}({}, features, labels):".format(num(rng, "10", "20")),
        "        {err} = xb @ {w} + {b} - yb",
        "        {w}.sub_({lr} * xb.T.mm({err}) / xb.shape[0])",
        "        {b}.sub_({lr} * {err}.mean())",
        "    {{lr}} *= {}  # decay the step size every epoch".format(num(rng, "0.5", "0.7", "0.9")),
        "    losses.append(((features @ {w} + {b} - labels) ** 2).mean().item())",
        "print(losses)",
    ).format(**n)


# --- exercise 5: evaluation ------------------------------------------------------


def eval_print(rng: R, n: dict[str, str]) -> str:
    return lines(
        "print(f'error in estimating w: {{true_w - {w}.reshape(true_w.shape)}}')",
        "print(f'error in estimating b: {{true_b - {b}}}')",
    ).format(**n)


def eval_relative(rng: R, n: dict[str, str]) -> str:
    return lines(
        "rel_w = torch.linalg.norm({w}.flatten() - true_w) / torch.linalg.norm(true_w)"
        if rng.random() < 0.5
        else "rel_w = (({w}.flatten() - true_w).norm() / true_w.norm()).item()",
        "rel_b = abs(float({b}) - true_b) / abs(true_b)",
        "print('relative errors:', rel_w, rel_b)"
        if rng.random() < 0.5
        else "print(f'w off by {{rel_w:.2%}}, b off by {{rel_b:.2%}}')",
    ).format(**n)


def eval_plot(rng: R, n: dict[str, str]) -> str:
    return lines(
        "import matplotlib.pyplot as plt",
        "",
        "plt.figure(figsize=({}, 3))".format(num(rng, "4", "5", "6")),
        "plt.plot(history)" if rng.random() < 0.5 else "plt.semilogy(history, marker='o')",
        "plt.xlabel('epoch')",
        "plt.ylabel('loss')",
        maybe(rng, "plt.title('training loss')", 0.5),
        "plt.show()",
        "print({w}.flatten(), true_w)",
    ).format(**n)


def eval_allclose(rng: R, n: dict[str, str]) -> str:
    return lines(
        "assert torch.allclose({{w}}.flatten(), true_w, atol={})".format(
            num(rng, "0.01", "0.05", "1e-2")
        ),
        "assert abs(float({{b}}) - true_b) < {}".format(num(rng, "0.01", "0.05")),
        "print('parameters recovered')",
    ).format(**n)


def eval_lstsq(rng: R, n: dict[str, str]) -> str:
    return lines(
        "A = torch.cat([features, torch.ones(len(features), 1)], dim=1)",
        "solution = torch.linalg.lstsq(A, labels).solution.flatten()"
        if rng.random() < 0.5
        else "solution = (torch.linalg.inv(A.T @ A) @ A.T @ labels).flatten()",
        "print('closed form:', solution)",
        "print('gradient descent:', {w}.flatten(), {b})",
    ).format(**n)


CODE: dict[str, list[Solution]] = {
    "1": [batches_generator, batches_randperm, batches_dataloader, batches_class, batches_numpy],
    "2": [model_functions, model_class, model_lambdas, model_numpy, model_einsum],
    "3": [backward_vector, backward_loop, backward_features, backward_layers, backward_numeric],
    "4": [train_epochs, train_full_batch, train_class, train_momentum, train_schedule],
    "5": [eval_print, eval_relative, eval_plot, eval_allclose, eval_lstsq],
}

# --- prose ---------------------------------------------------------------------

IDEAS_6 = [
    [
        "With a learning rate that is too large the updates overshoot the minimum "
        "and the loss {grows}.",
        "If the step size is too big, each step jumps past the optimum, so the loss {grows}.",
        "A too large learning rate makes gradient descent {oscillate} instead of converging.",
    ],
    [
        "With a tiny learning rate training is {slow}: the loss decreases, "
        "but only a little per epoch.",
        "Too small a step size means we need {many} epochs before the parameters get close.",
    ],
    [
        "Starting the weights at zero is fine for linear regression, because the loss is convex.",
        "For this model zero initialisation works: there is only one minimum and the gradient "
        "is not zero at the start.",
        "Zeros are a valid starting point here since the problem is convex "
        "and has a unique solution.",
    ],
    [
        "In a network with hidden layers zero weights would keep every unit identical "
        "(the symmetry is never broken).",
        "For deeper networks initialising everything to zero is a problem, since all hidden units "
        "receive the same gradient.",
    ],
    [
        "I tried lr = {lr} and the loss became nan after {n} epochs.",
        "When I set the learning rate to {lr} the loss exploded to inf within {n} epochs.",
    ],
    [
        "The gradient is proportional to the error, so bigger errors give bigger updates.",
        "Since the gradient scales with the residual, the first updates are the largest.",
    ],
]
IDEAS_7 = [
    [
        "Linear regression predicts a target as a weighted sum of the features plus a bias.",
        "The model is y = Xw + b, a linear function of the inputs.",
        "A linear model outputs an affine function of its input features.",
    ],
    [
        "We measure the fit with the squared loss and minimise its average over the data.",
        "The squared error between prediction and label is the loss we minimise.",
    ],
    [
        "Minibatch stochastic gradient descent updates the parameters using the gradient on a "
        "small random subset of the examples.",
        "Instead of the whole data set, SGD uses a minibatch to estimate "
        "the gradient at each step.",
    ],
    [
        "Writing the backward pass by hand showed me where {what} comes from.",
        "Computing the gradients myself made it clear how {what} works under the hood.",
    ],
    [
        "The learning rate and the batch size are hyperparameters we have to choose ourselves.",
        "Hyperparameters such as the step size are not learned but set before training.",
    ],
    [
        "Because the data is synthetic we could check that the learned parameters are close to "
        "the true ones.",
        "Knowing the true w and b let us verify the training really recovered them.",
    ],
    [
        "Linear regression also has a closed-form solution, but gradient descent generalises to "
        "models that do not.",
        "The normal equations solve this problem exactly; SGD is what scales to deep networks.",
    ],
]
FILL = {
    "grows": ["grows", "diverges", "blows up", "increases"],
    "oscillate": ["oscillate", "bounce around", "diverge"],
    "slow": ["slow", "very slow", "painfully slow"],
    "many": ["many", "a lot of", "hundreds of"],
    "lr": ["1", "3", "5", "10", "0.9"],
    "n": ["2", "3", "a few", "two"],
    "what": ["autograd", "loss.backward()", "the chain rule", "backpropagation"],
}
OWN = ["my", "the", "our", "this"]
TOPICS = ["loss", "weights", "gradient", "batch", "epoch", "bias", "noise", "error", "data", "step"]
VERBS = ["changed", "moved", "shrank", "looked", "stayed", "dropped", "varied", "settled"]


def prose(rng: R, ideas: list[list[str]]) -> str:
    chosen = rng.sample(ideas, rng.randint(3, len(ideas)))
    sentences = [
        rng.choice(idea).format(**{k: rng.choice(v) for k, v in FILL.items()}) for idea in chosen
    ]
    for _ in range(rng.randint(1, 3)):  # a personal remark nobody else writes
        words = [
            rng.choice(OWN),
            rng.choice(TOPICS),
            rng.choice(VERBS),
            "when",
            "i",
            rng.choice(VERBS),
            rng.choice(OWN),
            rng.choice(TOPICS),
            "at",
            str(rng.randint(2, 999)),
        ]
        sentences.insert(rng.randrange(len(sentences) + 1), " ".join(words).capitalize() + ".")
    return " ".join(sentences)


EXPLORE = [
    "print({X}.shape, {y}.shape)",
    "features[:5]",
    "type(true_w)",
    "labels.mean()",
    "d2l.plt.scatter(features[:, 1].numpy(), labels.numpy(), 1)",
    "help(torch.matmul)",
    "torch.__version__",
    "print(features.dtype)",
]

# --- students --------------------------------------------------------------------

TOUCHES = [
    "print({v}.shape)",
    "print('{v}', {v})",
    "assert {v} is not None",
    "checked = {v}",
    "print(type({v}))",
    "_ = len(features)",
    "print('here', {n})",
    "debug_step = {n}",
]
_ASSIGNED = re.compile(r"^\s*([A-Za-z_]\w*)\s*=[^=]")


HABITS = [  # ways of writing the same thing; each student has their own mix
    (r"(?m)^(\s*)([\w.]+) -= (.+)$", r"\1\2 = \2 - \3"),
    (r"(?m)^(\s*)([\w.]+) \+= (.+)$", r"\1\2 = \2 + \3"),
    (r"\.T\b", ".t()"),
    (r"\.reshape\(", ".view("),
    (r"\blen\((features|labels|X|y|inputs|targets)\)", r"\1.shape[0]"),
    (r"\bfloat\(([\w.]+)\)", r"\1.item()"),
    (r"(?m)^(\s*)print\((.*)\)$", r"\1print(\2, flush=True)"),
    (r"\(([\w.]+) - ([\w.]+)\) \*\* 2", r"(\2 - \1) ** 2"),
]


def habits(rng: R) -> list[tuple[str, str]]:
    return [habit for habit in HABITS if rng.random() < 0.5]


def personalise(rng: R, text: str) -> str:
    """The odd check or print a student adds while working: nobody adds the same ones."""
    out = []
    for line in text.splitlines():
        out.append(line)
        target = _ASSIGNED.match(line)
        if target and not line.rstrip().endswith((":", ",", "(")) and rng.random() < 0.3:
            indent = line[: len(line) - len(line.lstrip())]
            touch = rng.choice(TOUCHES).format(v=target.group(1), n=rng.randint(0, 99))
            out.append(indent + touch)
    return "\n".join(out)


def honest(rng: R) -> list[tuple[str, str, tuple[str, ...]]]:
    """A student who did the work: the starter, each answer cell filled in their way."""
    n = names(rng)
    mine = habits(rng)
    cells = list(starter_sources())
    skipped = rng.random() < 0.15  # some leave one exercise unanswered
    skip = rng.choice("12345") if skipped else ""
    for i, (kind, _, tags) in enumerate(cells):
        if not tags:
            continue
        eid = tags[0].removeprefix("exercise-")
        if eid == skip:
            continue
        if kind == "code":
            text = rng.choice(CODE[eid])(rng, n)
            for pattern, replacement in mine:
                text = re.sub(pattern, replacement, text)
            text = personalise(rng, text)
        else:
            text = prose(rng, IDEAS_6 if eid == "6" else IDEAS_7)
        cells[i] = (kind, text, tags)
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        probe = rng.choice(EXPLORE).format(**n)
        cells.insert(rng.randrange(4, len(cells) + 1), ("code", probe, ()))
    if rng.random() < 0.2:
        cells.insert(rng.randrange(4, len(cells) + 1), ("code", HANDOUT, ()))
    return cells


def template_only(rng: R) -> list[tuple[str, str, tuple[str, ...]]]:
    """The starter handed in as it came, or with a line or two filled in."""
    cells = list(starter_sources())
    if rng.random() < 0.5:
        for i, (kind, _, tags) in enumerate(cells):
            if tags and rng.random() < 0.3:
                cells[i] = (kind, "TODO" if kind == "markdown" else "pass", tags)
    if rng.random() < 0.5:
        cells.insert(4, ("code", "print(features.shape)", ()))
    return cells


# --- copiers ---------------------------------------------------------------------

SUFFIXES = ["_new", "_v2", "_mine", "2", "_x"]


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(re.sub(r"(?m)^\s*[%!].*$", "", source))
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            found.add(node.name)
    return {name for name in found if not keyword.iskeyword(name) and len(name) > 0}


def rename(
    rng: R, cells: list[tuple[str, str, tuple[str, ...]]]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Find-and-replace most names the student defined (whole words)."""
    defined: set[str] = set()
    for kind, text, _ in cells:
        if kind == "code":
            defined |= _defined_names(text)
    mapping = {name: name + rng.choice(SUFFIXES) for name in sorted(defined) if rng.random() < 0.8}
    if not mapping:
        return cells
    pattern = re.compile(
        r"\b(" + "|".join(map(re.escape, sorted(mapping, key=len, reverse=True))) + r")\b"
    )
    return [
        (k, pattern.sub(lambda m: mapping[m.group()], t) if k == "code" else t, g)
        for k, t, g in cells
    ]


def reorder(
    rng: R, cells: list[tuple[str, str, tuple[str, ...]]]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """The cells after the starter's own, shuffled."""
    head, tail = cells[:4], cells[4:]
    rng.shuffle(tail)
    return head + tail


COMMENTS = [
    "# compute it",
    "# this part was tricky",
    "# my implementation",
    "# see the book",
    "# TODO tidy up",
    "# works now",
    "# step by step",
]


def recomment(
    rng: R, cells: list[tuple[str, str, tuple[str, ...]]]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Existing comments dropped, new ones added above and beside lines."""
    out = []
    for kind, text, tags in cells:
        if kind == "code" and tags:
            new = []
            for line in text.splitlines():
                line = re.sub(r"\s+#[^'\"]*$", "", line)
                if line.strip().startswith("#"):
                    continue
                if rng.random() < 0.25:
                    indent = line[: len(line) - len(line.lstrip())]
                    new.append(indent + rng.choice(COMMENTS))
                new.append(line + ("  " + rng.choice(COMMENTS) if rng.random() < 0.15 else ""))
            text = "\n".join(new)
        out.append((kind, text, tags))
    return out


def reliteral(
    rng: R, cells: list[tuple[str, str, tuple[str, ...]]]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Numbers and strings in the answers changed."""

    def number(m: re.Match[str]) -> str:
        value = m.group()
        return value + "1" if "." in value else str(int(value) * 2 + 1)

    out = []
    for kind, text, tags in cells:
        if kind == "code" and tags:
            text = re.sub(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", number, text)
            text = re.sub(r"'([^'\n]*)'", lambda m: "'" + m.group(1).upper() + "!'", text)
        out.append((kind, text, tags))
    return out


def everything(
    rng: R, cells: list[tuple[str, str, tuple[str, ...]]]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """All of it, plus two answers of their own: a partial copy."""
    n = names(rng)
    cells = list(cells)
    for i, (kind, _, tags) in enumerate(cells):
        if tags in (("exercise-4",),):
            cells[i] = (kind, rng.choice(CODE["4"])(rng, n), tags)
        elif tags == ("exercise-7",):
            cells[i] = (kind, prose(rng, IDEAS_7), tags)
    cells.append(("code", rng.choice(EXPLORE).format(**n), ()))
    for step in (rename, recomment, reliteral, reorder):
        cells = step(rng, cells)
    return cells


DISGUISES = [rename, reorder, recomment, reliteral, everything]


@dataclass(frozen=True)
class Cohort:
    submissions: tuple[Submission, ...]
    starter: tuple[Cell, ...]
    handouts: tuple[str, ...]
    planted: tuple[tuple[str, str], ...]  # (original, copy), each sorted as the report sorts
    template_only: tuple[str, ...]


def cohort(size: int = 300, seed: int = 2020, templates: int = 12) -> Cohort:
    rng = random.Random(seed)
    logins = [f"student-{i:03d}" for i in range(size)]
    notebooks = {login: honest(rng) for login in logins}
    rng_logins = list(logins)
    rng.shuffle(rng_logins)
    lazy = sorted(rng_logins[:templates])
    for login in lazy:
        notebooks[login] = template_only(rng)
    planted = []
    rest = rng_logins[templates:]
    for k, disguise in enumerate(DISGUISES):
        original, copier = rest[2 * k], rest[2 * k + 1]
        notebooks[copier] = disguise(rng, notebooks[original])
        planted.append(tuple(sorted((original, copier))))
    subs = tuple(Submission(login, as_cells(notebooks[login])) for login in logins)
    return Cohort(subs, starter(), (HANDOUT,), tuple(planted), tuple(lazy))  # type: ignore[arg-type]
