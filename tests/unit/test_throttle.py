from app.web.throttle import SlidingWindowLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_allows_limit_then_waits():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 60, clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.hit("a") == 60.0
    assert limiter.hit("b") == 0.0  # per client
    clock.now += 30
    assert limiter.hit("a") == 30.0
    clock.now += 30.001
    assert limiter.hit("a") == 0.0


def test_reset_forgets_a_client():
    limiter = SlidingWindowLimiter(1, 60, clock=FakeClock())
    limiter.hit("a")
    limiter.reset("a")
    assert limiter.hit("a") == 0.0
