"""gradcheck.testing against torch.autograd.gradcheck on a hand-written backward (issue 12).

    python bench/testing_api.py

The backward of y = aᵀ tanh(Wx + b) by W, right and wrong (a xᵀ: the tanh′ factor dropped).
`assert_gradient` draws 60 inputs (sizes 1..4, shrinking on); torch.autograd.gradcheck checks
one random input at m = 3, n = 4 (the custom Function's backward against finite differences),
in slow and fast mode. Times after imports; the first call of each also pays for torch's
one-time set-up (torch.func's first reverse-mode call imports torch._dynamo). Say in the notes
whether the machine was idle.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from gradcheck.testing import assert_gradient

SHAPES = {"W": "matrix(m, n)", "x": "vector(n)", "b": "vector(m)", "a": "vector(m)"}


def loss(W: torch.Tensor, x: torch.Tensor, b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return a @ torch.tanh(W @ x + b)


def right(W: torch.Tensor, x: torch.Tensor, b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return torch.outer(a * (1 - torch.tanh(W @ x + b) ** 2), x)


def wrong(W: torch.Tensor, x: torch.Tensor, b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return torch.outer(a, x)


def ours(backward: Any) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        assert_gradient(loss, backward, SHAPES, wrt="W")
        found = "passes"
    except AssertionError as err:
        found = "finds it: " + str(err).splitlines()[0]
    return time.perf_counter() - start, found


def autograd_gradcheck(backward: Any, fast: bool) -> tuple[float, str]:
    class Layer(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, W: torch.Tensor, x: torch.Tensor, b: torch.Tensor,
                    a: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(W, x, b, a)
            return loss(W, x, b, a)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
            return grad * backward(*ctx.saved_tensors), None, None, None

    g = torch.Generator().manual_seed(0)
    W = torch.randn(3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    x, b, a = (torch.randn(n, dtype=torch.float64, generator=g) for n in (4, 3, 3))
    start = time.perf_counter()
    ok = torch.autograd.gradcheck(lambda W: Layer.apply(W, x, b, a), (W,), fast_mode=fast,
                                  raise_exception=False)
    return time.perf_counter() - start, "passes" if ok else "finds it (at m = 3, n = 4)"


def main() -> None:
    rows = [("assert_gradient, first call", *ours(right))]
    rows.append(("assert_gradient, right backward", *ours(right)))
    rows.append(("assert_gradient, wrong backward", *ours(wrong)))
    for fast in (False, True):
        mode = "fast" if fast else "slow"
        autograd_gradcheck(right, fast)  # warm
        for name, backward in (("right", right), ("wrong", wrong)):
            what = f"autograd.gradcheck {mode}, {name} backward"
            rows.append((what, *autograd_gradcheck(backward, fast)))
    print("| check | time | result |\n|---|---|---|")
    for what, seconds, result in rows:
        print(f"| {what} | {seconds * 1000:.0f} ms | {result} |")


if __name__ == "__main__":
    main()
