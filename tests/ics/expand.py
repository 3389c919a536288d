#!/usr/bin/env python3
"""Independent expansion of an ICS feed, for the comparison test in tests/it/calendar.rs.

Reads an RFC 5545 calendar on stdin, expands every VEVENT between the two ISO dates given
as arguments with `icalendar` + `recurring-ical-events` (python-dateutil's RRULE engine and
the VTIMEZONE / zoneinfo data), and prints one `UID<TAB>UTC instant` line per occurrence.
It also checks that every TZID a VEVENT uses has a VTIMEZONE in the feed, and that the
feed's VTIMEZONE definitions give the same instants as the zoneinfo database.
"""
import re
import sys
from datetime import datetime, timezone

import icalendar
import recurring_ical_events


def main() -> int:
    start = datetime.fromisoformat(sys.argv[1])
    end = datetime.fromisoformat(sys.argv[2])
    text = sys.stdin.read()
    cal = icalendar.Calendar.from_ical(text)
    zones = {str(c["TZID"]) for c in cal.walk("VTIMEZONE")}
    events = cal.walk("VEVENT")
    for ev in events:
        tzid = ev["DTSTART"].params.get("TZID")
        if tzid is None or str(tzid) not in zones:
            print(f"VEVENT {ev['UID']} uses TZID {tzid} with no VTIMEZONE", file=sys.stderr)
            return 2
    print(f"# parsed {len(events)} events, {len(zones)} zones", file=sys.stderr)
    # icalendar reads a TZID that names an IANA zone with zoneinfo and ignores the feed's
    # VTIMEZONE. Expanding a second time with the zones renamed makes it build them from the
    # VTIMEZONE definitions (dateutil's tzical) instead; both must agree.
    by_name = expand(cal, start, end)
    renamed = re.sub(r"TZID([:=])([^:;\r\n]+)", r"TZID\1X-baton-\2", text)
    by_vtimezone = expand(icalendar.Calendar.from_ical(renamed), start, end)
    if by_name != by_vtimezone:
        diff = sorted(set(by_name) ^ set(by_vtimezone))[:20]
        print(f"the VTIMEZONEs disagree with zoneinfo: {diff}", file=sys.stderr)
        return 4
    for uid, utc in by_name:
        print(f"{uid}\t{utc}")
    return 0


def expand(cal, start, end):
    out = []
    for occ in recurring_ical_events.of(cal).between(start, end):
        t = occ["DTSTART"].dt
        if not isinstance(t, datetime) or t.tzinfo is None:
            raise SystemExit(f"occurrence of {occ['UID']} is not a zoned date-time: {t!r}")
        out.append((str(occ["UID"]), t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))
    return sorted(out)


if __name__ == "__main__":
    sys.exit(main())
