from callcenter.calls.guard import AuthGuard


def test_ban_after_repeated_failures_then_expiry() -> None:
    g = AuthGuard(max_failures=3, window=10, ban=60)
    assert not g.failed("10.0.0.1", "bad response", 0)
    assert not g.failed("10.0.0.1", "missing credentials", 1)  # a normal first challenge
    assert not g.failed("10.0.0.1", "unknown user", 2)
    assert not g.blocked("10.0.0.1", 2)
    assert g.failed("10.0.0.1", "bad response", 3)
    assert g.blocked("10.0.0.1", 3) and g.blocked("10.0.0.1", 62)
    assert not g.blocked("10.0.0.2", 3)
    assert not g.blocked("10.0.0.1", 63.5)


def test_window_slides_and_success_resets() -> None:
    g = AuthGuard(max_failures=2, window=10, ban=60)
    assert not g.failed("h", "bad response", 0)
    assert not g.failed("h", "bad response", 11)  # the first fell out of the window
    g.succeeded("h")
    assert not g.failed("h", "bad response", 12)
    assert g.failed("h", "bad response", 13)
