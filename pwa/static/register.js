// Registers the patient in the time zone their phone is set to, so that "today" and "at night" mean their own.
const field = document.getElementById("time_zone");
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (field && zone && field.value === "UTC") field.value = zone;
