"""Mapping profiles: named column mappings, and choosing the mapping an upload uses."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.db import utcnow
from common.mapping import Mapping, MappingError, parse_mapping, parse_mapping_text
from common.models import MappingProfile

#: Longest profile name.
MAX_NAME = 100


def profile_dict(profile: MappingProfile) -> dict[str, object]:
    """A profile as the API shows it."""
    return {"name": profile.name, "mapping": json.loads(profile.mapping),
            "created_at": profile.created_at.isoformat(), "updated_at": profile.updated_at.isoformat()}


def save_profile(sessions: sessionmaker[Session], name: object, raw: object) -> tuple[dict[str, object], bool]:
    """Create or replace profile `name`; return it and whether it is new. MappingError for bad input."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise MappingError(f"a profile needs a name of 1 to {MAX_NAME} characters")
    mapping = parse_mapping(raw)
    text = json.dumps(mapping.to_json(), sort_keys=True)
    now = utcnow()
    with sessions.begin() as session:
        profile = session.get(MappingProfile, name.strip(), with_for_update=True)
        created = profile is None
        if created:
            profile = MappingProfile(name=name.strip(), mapping=text, created_at=now, updated_at=now)
            session.add(profile)
        else:
            profile.mapping, profile.updated_at = text, now
        session.flush()
        return profile_dict(profile), created


def list_profiles(session: Session) -> list[dict[str, object]]:
    """Every profile, by name."""
    return [profile_dict(p) for p in session.scalars(select(MappingProfile).order_by(MappingProfile.name))]


def upload_mapping(session: Session, mapping_text: str | None, mapping_name: str | None) -> Mapping:
    """The mapping an upload asked for: sent as JSON, named as a profile, or none (the original columns)."""
    if mapping_text is not None and mapping_name is not None:
        raise MappingError("send either mapping or mapping_name, not both")
    if mapping_name is not None:
        profile = session.get(MappingProfile, mapping_name.strip())
        if profile is None:
            raise MappingError(f"no mapping profile named {mapping_name.strip()[:100]!r}")
        return parse_mapping(json.loads(profile.mapping))
    if mapping_text is not None and mapping_text.strip():
        return parse_mapping_text(mapping_text)
    return Mapping()
