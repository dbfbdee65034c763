// Read iCalendar files with ical.js, the parser inside Thunderbird, and print what it sees.
//
// Usage: node tests/ical_reader.mjs <path to ical.js's dist/ical.js>  < calendars.json
// Input (stdin): a JSON array of iCalendar texts. Output (stdout): a JSON array, one entry per
// text: {method, timezones, events: [{uid, sequence, status, start, end, zone, zoneFromFile,
// location, description, url, organizer}]}, start and end as UTC ISO strings.
// Times are resolved the way Thunderbird resolves an invitation: against the VTIMEZONE the
// file carries (ical.js looks the TZID up in the file first), not against a database of its own.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [libraryPath] = process.argv.slice(2);
if (!libraryPath) {
  process.stderr.write("usage: node ical_reader.mjs <path/to/ical.js/dist/ical.js>\n");
  process.exit(2);
}
const { default: ICAL } = await import(pathToFileURL(libraryPath).href);

function text(component, name) {
  const value = component.getFirstPropertyValue(name);
  return value === null || value === undefined ? null : String(value);
}

function readEvent(vevent) {
  const event = new ICAL.Event(vevent);
  const start = event.startDate;
  const zone = start.zone;
  return {
    uid: event.uid,
    sequence: event.sequence,
    status: text(vevent, "status"),
    start: start.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    zone: zone ? zone.tzid : null,
    // True when the time was resolved with the file's own VTIMEZONE.
    zoneFromFile: Boolean(zone && zone.component),
    location: text(vevent, "location"),
    description: text(vevent, "description"),
    url: text(vevent, "url"),
    organizer: text(vevent, "organizer"),
  };
}

function readCalendar(source) {
  const calendar = new ICAL.Component(ICAL.parse(source));
  return {
    method: text(calendar, "method"),
    timezones: calendar
      .getAllSubcomponents("vtimezone")
      .map((timezone) => text(timezone, "tzid")),
    events: calendar.getAllSubcomponents("vevent").map(readEvent),
  };
}

const sources = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(sources.map(readCalendar)));
