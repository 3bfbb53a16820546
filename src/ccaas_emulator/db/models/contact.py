"""contact: the customers deliveries are made to, upserted by their unique identifier."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import UtcDateTime


class Contact(Base):
    """A Dataverse contact, with the columns the proactive contact object maps onto."""

    __tablename__ = "contact"

    id: Mapped[uuid.UUID] = mapped_column("contactid", Uuid, primary_key=True)
    # The engagement's "contact unique identifier" when it is not contactid (an external system's id).
    # Shown on the Web API (the contacts entity set) under this name: the unique identifier the actions and files sent.
    external_id: Mapped[str | None] = mapped_column(
        "emulator_external_id", String(100), unique=True, info={"web_api": True}
    )
    first_name: Mapped[str | None] = mapped_column("firstname", String(50))
    last_name: Mapped[str | None] = mapped_column("lastname", String(50))
    full_name: Mapped[str | None] = mapped_column("fullname", String(160))
    mobile_phone: Mapped[str | None] = mapped_column("mobilephone", String(50))
    business_phone: Mapped[str | None] = mapped_column("telephone1", String(50))
    home_phone: Mapped[str | None] = mapped_column("telephone2", String(50))
    email: Mapped[str | None] = mapped_column("emailaddress1", String(100))
    postal_code: Mapped[str | None] = mapped_column("address1_postalcode", String(20))
    state: Mapped[str | None] = mapped_column("address1_stateorprovince", String(50))
    country: Mapped[str | None] = mapped_column("address1_country", String(80))
    address_line: Mapped[str | None] = mapped_column("address1_line1", String(250))
    city: Mapped[str | None] = mapped_column("address1_city", String(80))
    created_on: Mapped[datetime] = mapped_column("createdon", UtcDateTime)
    modified_on: Mapped[datetime] = mapped_column("modifiedon", UtcDateTime)
    version: Mapped[int] = mapped_column("versionnumber", BigInteger, default=1)
