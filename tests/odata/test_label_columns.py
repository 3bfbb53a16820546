"""Status, result, channel and dial mode are enums in code and their labels on the wire, whatever is asked."""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ccaas_emulator.db.types import LabelType
from ccaas_emulator.domain import DeliveryStatus, DialMode
from tests.support.in_process import window
from tests.support.urls import DELIVERIES


def test_a_filter_on_a_value_that_is_no_status_matches_nothing(emulator, as_user):
    emulator.post("+15550100", windows=[window()])
    response = emulator.client.get(f"{DELIVERIES}?$filter=msdyn_status eq 'Nonsense'", headers=as_user())
    assert response.status_code == 200, response.text
    assert response.json()["value"] == []


def test_the_dial_mode_reads_as_its_label_not_the_choice_number(emulator, as_user):
    emulator.post("+15550100", windows=[window()])
    response = emulator.client.get(
        f"{DELIVERIES}?$select=msdyn_dialmode_type,msdyn_status,msdyn_channel&$orderby=msdyn_dialmode_type",
        headers=as_user(),
    )
    assert response.status_code == 200, response.text
    row = response.json()["value"][0]
    assert (row["msdyn_dialmode_type"], row["msdyn_status"], row["msdyn_channel"]) == ("Copilot", "Pending", "Voice")


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "label_row"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[DeliveryStatus] = mapped_column(LabelType(DeliveryStatus, 100))
    dial_mode: Mapped[DialMode] = mapped_column(LabelType(DialMode, 100))


def test_members_are_stored_by_label_and_unknown_labels_read_back_as_text():
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE label_row (id INTEGER PRIMARY KEY, status TEXT, dial_mode TEXT)")
        connection.exec_driver_sql("INSERT INTO label_row VALUES (2, 'Nonsense', 'Sideways')")
    with Session(engine) as session:
        session.add(_Row(id=1, status=DeliveryStatus.IN_PROCESS, dial_mode=DialMode.PROGRESSIVE))
        session.flush()
        stored = session.execute(select(_Row.status, _Row.dial_mode).where(_Row.id == 1)).one()
        assert stored[0] is DeliveryStatus.IN_PROCESS and stored[1] is DialMode.PROGRESSIVE
        text = session.connection().exec_driver_sql("SELECT status, dial_mode FROM label_row WHERE id = 1").one()
        assert tuple(text) == ("InProcess", "Progressive")
        unknown = session.get(_Row, 2)
        assert unknown is not None and (unknown.status, unknown.dial_mode) == ("Nonsense", "Sideways")
        assert session.scalar(select(_Row.id).where(_Row.status == "Nonsense")) == 2
