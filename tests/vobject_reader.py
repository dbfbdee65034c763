"""Read one iCalendar text (stdin) with vobject and print its events as JSON (stdout).

Run as its own process for each file: vobject keeps the first VTIMEZONE it meets for a TZID
for the life of the interpreter, so in a shared process a file would be read with another
file's time zone. The same JSON shape as tests/ical_reader.mjs (start and end in UTC).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC

import vobject


def main() -> None:
    """Parse stdin and write what vobject sees."""
    calendar = vobject.readOne(sys.stdin.read())
    events = []
    for event in getattr(calendar, "vevent_list", []):
        start, end = event.dtstart.value, event.dtend.value
        events.append(
            {
                "uid": event.uid.value,
                "sequence": int(event.sequence.value),
                "status": event.status.value,
                "start": start.astimezone(UTC).isoformat(),
                "end": end.astimezone(UTC).isoformat(),
                "zone": getattr(start.tzinfo, "_tzid", None) or str(start.tzinfo),
                # dateutil's VTIMEZONE class: the time was read with the file's own VTIMEZONE.
                "zoneFromFile": type(start.tzinfo).__name__ == "_tzicalvtz",
                "location": event.location.value,
                "description": event.description.value,
                "url": event.url.value,
                "organizer": event.organizer.value,
            }
        )
    method = calendar.method.value if hasattr(calendar, "method") else None
    timezones = [tz.tzid.value for tz in getattr(calendar, "vtimezone_list", [])]
    json.dump({"method": method, "timezones": timezones, "events": events}, sys.stdout)


if __name__ == "__main__":
    main()
