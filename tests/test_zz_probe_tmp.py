import logging, traceback
from tests.conftest import World
def test_probe(world: World, caplog) -> None:
    c = world.backend.client
    r = world.create_ok()
    o = world.create_ok(world.offline_person_id)
    with caplog.at_level(logging.ERROR):
        for x in (r, o, o):
            resp = c.patch(f"/api/v3/declaration_requests/{x['id']}/actions/approve", headers=world.headers)
            print(resp.status_code, resp.text[-150:])
    for rec in caplog.records:
        print(rec.getMessage())
        if rec.exc_info: print("".join(traceback.format_exception(*rec.exc_info))[-3000:])
