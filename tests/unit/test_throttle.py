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


def test_a_limiter_forgets_idle_keys_past_its_bound(monkeypatch):
    from app.web import throttle

    monkeypatch.setattr(throttle, "PRUNE_ABOVE", 10)
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 60, clock=clock)
    for n in range(11):
        limiter.hit(f"name {n}")
    clock.now += 61
    limiter.hit("late")
    assert len(limiter._hits) == 1  # the idle names went; a spray of names cannot grow it forever


def test_login_throttle_keys_by_name_and_address():
    from app.web.throttle import LoginThrottle

    clock = FakeClock()
    throttle = LoginThrottle(2, 60, clock=clock)
    # One address guessing the owner's password: stopped after two.
    assert [throttle.hit("10.0.0.9", "jiwoo") for _ in range(3)] == [0.0, 0.0, 60.0]
    # The owner at another address still gets in: the attacker's refused tries counted nowhere.
    assert throttle.hit("192.168.1.20", "jiwoo") == 0.0
    # Guessing the one name from many addresses is throttled by the name (4 × 2 a minute).
    assert throttle.hit("10.0.0.10", "jiwoo") == 0.0
    assert throttle.hit("10.0.0.11", " Jiwoo ") == 0.0  # the same name, however typed
    assert throttle.hit("10.0.0.12", "jiwoo") == 0.0
    assert throttle.hit("10.0.0.13", "jiwoo") == 0.0
    assert throttle.hit("10.0.0.14", "jiwoo") == 0.0  # the eighth
    assert throttle.hit("10.0.0.15", "jiwoo") == 60.0
    # Spraying names from one address is throttled by the address.
    sprayed = [throttle.hit("10.0.0.99", f"user{n}") for n in range(9)]
    assert sprayed == [0.0] * 8 + [60.0]
    clock.now += 60.001
    assert throttle.hit("10.0.0.14", "jiwoo") == 0.0


def test_a_success_resets_the_address_not_the_name():
    from app.web.throttle import LoginThrottle

    clock = FakeClock()
    throttle = LoginThrottle(1, 60, clock=clock)
    throttle.hit("192.168.1.20", "jiwoo")
    throttle.succeeded("192.168.1.20", "jiwoo")
    assert throttle.hit("192.168.1.20", "jiwoo") == 0.0
