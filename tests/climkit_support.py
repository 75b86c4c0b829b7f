"""The Climkit sandbox's control side, with Climkit's extras, for the tests."""

from .conftest import SandboxControl

API = "/sandbox/climkit/api/v1"


class ClimkitControl(SandboxControl):
    def __init__(self, base: str):
        super().__init__(base, "climkit")
        self.api = base + API

    def rate_limit(self, seconds: float) -> None:
        response = self.http.post(
            f"{self.control}/rate_limit", json={"seconds": seconds}, timeout=10
        )
        response.raise_for_status()

    def answers(self, **shapes) -> dict:
        """How the sandbox answers where public sources disagree (`_sandbox/answers`)."""
        response = self.http.post(f"{self.control}/answers", json=shapes, timeout=10)
        response.raise_for_status()
        return response.json()

    def arrivals(self) -> list[dict]:
        return self.state()["rate_limit"]["arrivals"]

    def sites(self) -> list[dict]:
        return self.state()["sites"]

    def add_meter(self, **body) -> dict:
        response = self.http.post(f"{self.control}/meters", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def change_meter(self, meter_id: str, **body) -> dict:
        response = self.http.patch(f"{self.control}/meters/{meter_id}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def remove_meter(self, meter_id: str) -> None:
        self.http.delete(f"{self.control}/meters/{meter_id}", timeout=10).raise_for_status()


def gaps(arrivals: list[dict]) -> list[float]:
    times = sorted(a["at"] for a in arrivals)
    return [b - a for a, b in zip(times, times[1:], strict=False)]
