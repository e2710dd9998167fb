"""When sparsity grows: one shot, or the cubic schedule of Zhu & Gupta
(2017), s_t = s_final * (1 - (1 - progress)^3), which prunes fast while
the network has many redundant weights and slowly near the end."""


def cubic_sparsity_fraction(iteration: int, start_iter: int,
                            end_iter: int) -> float:
    """Share of the final ratios reached at ``iteration`` (0 before
    ``start_iter``, 1 from ``end_iter`` on; one shot when they are
    equal)."""
    if iteration < start_iter:
        return 0.0
    if iteration >= end_iter:
        return 1.0
    progress = (iteration - start_iter) / (end_iter - start_iter)
    return 1.0 - (1.0 - progress)**3


def is_sparsity_step(iteration: int, start_iter: int, end_iter: int,
                     interval: int) -> bool:
    """Masks are updated at start_iter, every ``interval`` iterations
    after it, and at end_iter."""
    if iteration < start_iter or iteration > end_iter:
        return False
    return iteration == end_iter or (iteration - start_iter) % interval == 0
