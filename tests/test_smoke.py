from tests.conftest import Api


def test_issue_then_call_next_calls_that_ticket(api: Api) -> None:
    """A ticket issued at the kiosk is the one the next call-next takes."""
    ticket = api.issue("A")
    response = api.counter("2", "call-next")
    assert response.status_code == 200
    assert response.json()["id"] == ticket["id"]
    assert response.json()["status"] == "called"
