from keepwell.domain.requests import ThreadEvent, derive_requests, event

T0 = 1_790_000_000_000_000  # microseconds since the epoch, as imports keep instants


def at(minutes: int) -> int:
    return T0 + minutes * 60_000_000


def inbound(ref: str, minutes: int, thread: str = "t-1", **kw: object) -> ThreadEvent:
    return event(thread, at(minutes), "inbound", ref, account_id="acme", **kw)


def outbound(ref: str, minutes: int, thread: str = "t-1", **kw: object) -> ThreadEvent:
    return event(thread, at(minutes), "outbound", ref, account_id="acme", **kw)


def internal(ref: str, minutes: int, thread: str = "t-1") -> ThreadEvent:
    return event(thread, at(minutes), "internal", ref, account_id="acme")


def resolve(minutes: int, thread: str = "t-1") -> ThreadEvent:
    return event(thread, at(minutes), "resolve", by="u-ana", note="done")


def escalate(minutes: int, thread: str = "t-1", novel: bool = False) -> ThreadEvent:
    return event(thread, at(minutes), "escalate", by="u-ana", novel=novel)


def test_it_opens_a_request_at_the_first_inbound_message() -> None:
    (request,) = derive_requests([inbound("m1", 0), outbound("m2", 17)])
    assert request.id == "m1"
    assert request.opened_at == at(0)
    assert request.first_response_at == at(17)
    assert request.first_response_id == "m2"
    assert request.resolved_at is None


def test_it_keeps_the_clock_of_the_first_of_several_inbound_messages() -> None:
    events = [inbound("m1", 0), inbound("m2", 5), inbound("m3", 9), outbound("m4", 30)]
    (request,) = derive_requests(events)
    assert request.opened_at == at(0)
    assert request.first_response_at == at(30)
    assert request.last_inbound_id == "m3"


def test_it_opens_a_new_request_for_a_reply_in_a_resolved_thread() -> None:
    events = [inbound("m1", 0), outbound("m2", 10), resolve(20), inbound("m3", 600)]
    first, second = derive_requests(events)
    assert (first.id, first.resolved_at) == ("m1", at(20))
    assert (second.id, second.opened_at, second.first_response_at) == ("m3", at(600), None)


def test_it_keeps_one_request_for_follow_ups_before_the_resolve() -> None:
    events = [inbound("m1", 0), outbound("m2", 10), inbound("m3", 30), outbound("m4", 40)]
    (request,) = derive_requests(events)
    assert request.first_response_id == "m2"


def test_it_treats_a_thread_we_open_as_outreach() -> None:
    assert list(derive_requests([outbound("m1", 0), outbound("m2", 5)])) == []


def test_it_opens_a_request_when_the_client_answers_our_outreach() -> None:
    (request,) = derive_requests([outbound("m1", 0), inbound("m2", 60), outbound("m3", 70)])
    assert (request.id, request.first_response_id) == ("m2", "m3")


def test_it_ignores_auto_replies_and_internal_notes_as_first_responses() -> None:
    events = [
        inbound("m1", 0),
        outbound("m2", 1, automated=True),
        internal("m3", 5),
        outbound("m4", 45),
    ]
    (request,) = derive_requests(events)
    assert request.first_response_id == "m4"


def test_it_ignores_a_clients_auto_reply_as_an_opening() -> None:
    assert list(derive_requests([inbound("m1", 0, automated=True)])) == []


def test_it_no_longer_counts_a_deleted_reply_as_the_first_response() -> None:
    events = [inbound("m1", 0), outbound("m2", 1, deleted=True), outbound("m3", 45)]
    (request,) = derive_requests(events)
    assert request.first_response_id == "m3"


def test_it_opens_no_request_for_a_deleted_client_message() -> None:
    assert list(derive_requests([inbound("m1", 0, deleted=True)])) == []


def test_it_counts_escalations_and_remembers_novelty() -> None:
    events = [inbound("m1", 0), escalate(5), escalate(50, novel=True), resolve(90)]
    (request,) = derive_requests(events)
    assert (request.escalations, request.escalated_at, request.novel) == (2, at(5), True)


def test_it_ignores_actions_without_an_open_request() -> None:
    events = [resolve(0), escalate(1), inbound("m1", 10), resolve(20), resolve(30)]
    (request,) = derive_requests(events)
    assert (request.id, request.resolved_at, request.escalations) == ("m1", at(20), 0)


def test_it_resolves_the_request_opened_at_the_same_instant() -> None:
    (request,) = derive_requests([resolve(0), inbound("m1", 0)])
    assert request.resolved_at == at(0)


def test_it_gives_the_same_requests_whatever_the_order_of_events() -> None:
    events = [
        inbound("m1", 0),
        outbound("m2", 10),
        resolve(20),
        inbound("m3", 30, thread="t-2"),
        escalate(31, thread="t-2"),
        inbound("m4", 40),
    ]
    assert list(derive_requests(events)) == list(derive_requests(reversed(events)))
