"""Which named time zones observe daylight saving time: a fixed UTC offset cannot stand for
them (RG113).

`DST_ZONES` lists the IANA zones whose offset in mid-January differs from mid-July (2025,
tzdata 2025), computed once with `zoneinfo` and kept here so that the analysis gives the same
answer on every machine:

    [n for n in zoneinfo.available_timezones()
     if datetime(2025, 1, 15, tzinfo=ZoneInfo(n)).utcoffset()
     != datetime(2025, 7, 15, tzinfo=ZoneInfo(n)).utcoffset()]
"""

from __future__ import annotations

DST_ZONES = frozenset("""
    Africa/Cairo Africa/Ceuta America/Adak America/Anchorage America/Atka America/Boise
    America/Cambridge_Bay America/Chicago America/Ciudad_Juarez America/Denver
    America/Detroit America/Edmonton America/Ensenada America/Fort_Wayne America/Glace_Bay
    America/Godthab America/Goose_Bay America/Grand_Turk America/Halifax America/Havana
    America/Indiana/Indianapolis America/Indiana/Knox America/Indiana/Marengo
    America/Indiana/Petersburg America/Indiana/Tell_City America/Indiana/Vevay
    America/Indiana/Vincennes America/Indiana/Winamac America/Indianapolis America/Inuvik
    America/Iqaluit America/Juneau America/Kentucky/Louisville America/Kentucky/Monticello
    America/Knox_IN America/Los_Angeles America/Louisville America/Matamoros
    America/Menominee America/Metlakatla America/Miquelon America/Moncton America/Montreal
    America/Nassau America/New_York America/Nipigon America/Nome America/North_Dakota/Beulah
    America/North_Dakota/Center America/North_Dakota/New_Salem America/Nuuk America/Ojinaga
    America/Pangnirtung America/Port-au-Prince America/Rainy_River America/Rankin_Inlet
    America/Resolute America/Santa_Isabel America/Santiago America/Scoresbysund
    America/Shiprock America/Sitka America/St_Johns America/Thule America/Thunder_Bay
    America/Tijuana America/Toronto America/Vancouver America/Winnipeg America/Yakutat
    America/Yellowknife Antarctica/Macquarie Antarctica/McMurdo Antarctica/South_Pole
    Antarctica/Troll Arctic/Longyearbyen Asia/Beirut Asia/Famagusta Asia/Gaza Asia/Hebron
    Asia/Jerusalem Asia/Nicosia Asia/Tel_Aviv Atlantic/Azores Atlantic/Bermuda
    Atlantic/Canary Atlantic/Faeroe Atlantic/Faroe Atlantic/Jan_Mayen Atlantic/Madeira
    Australia/ACT Australia/Adelaide Australia/Broken_Hill Australia/Canberra
    Australia/Currie Australia/Hobart Australia/LHI Australia/Lord_Howe Australia/Melbourne
    Australia/NSW Australia/South Australia/Sydney Australia/Tasmania Australia/Victoria
    Australia/Yancowinna CET CST6CDT Canada/Atlantic Canada/Central Canada/Eastern
    Canada/Mountain Canada/Newfoundland Canada/Pacific Chile/Continental Chile/EasterIsland
    Cuba EET EST5EDT Egypt Eire Europe/Amsterdam Europe/Andorra Europe/Athens Europe/Belfast
    Europe/Belgrade Europe/Berlin Europe/Bratislava Europe/Brussels Europe/Bucharest
    Europe/Budapest Europe/Busingen Europe/Chisinau Europe/Copenhagen Europe/Dublin
    Europe/Gibraltar Europe/Guernsey Europe/Helsinki Europe/Isle_of_Man Europe/Jersey
    Europe/Kiev Europe/Kyiv Europe/Lisbon Europe/Ljubljana Europe/London Europe/Luxembourg
    Europe/Madrid Europe/Malta Europe/Mariehamn Europe/Monaco Europe/Nicosia Europe/Oslo
    Europe/Paris Europe/Podgorica Europe/Prague Europe/Riga Europe/Rome Europe/San_Marino
    Europe/Sarajevo Europe/Skopje Europe/Sofia Europe/Stockholm Europe/Tallinn Europe/Tirane
    Europe/Tiraspol Europe/Uzhgorod Europe/Vaduz Europe/Vatican Europe/Vienna Europe/Vilnius
    Europe/Warsaw Europe/Zagreb Europe/Zaporozhye Europe/Zurich GB GB-Eire Israel MET
    MST7MDT Mexico/BajaNorte NZ NZ-CHAT Navajo PST8PDT Pacific/Auckland Pacific/Chatham
    Pacific/Easter Pacific/Norfolk Poland Portugal US/Alaska US/Aleutian US/Central
    US/East-Indiana US/Eastern US/Indiana-Starke US/Michigan US/Mountain US/Pacific WET
""".split())

# Words in a variable's name that say it holds one of those zones (`PARIS_TZ`, `tz_new_york`,
# `CET`): big cities of zones with daylight saving, and the abbreviations of summer time or of
# zones that switch. A city that also names a zone without it (`phoenix`) is left out.
DST_CITY_WORDS = frozenset({
    "new_york", "chicago", "denver", "los_angeles", "toronto", "vancouver", "montreal",
    "halifax", "anchorage", "london", "paris", "berlin", "madrid", "rome", "amsterdam",
    "brussels", "vienna", "zurich", "stockholm", "oslo", "copenhagen", "warsaw", "prague",
    "budapest", "athens", "helsinki", "dublin", "lisbon", "kyiv", "kiev", "bucharest", "sofia",
    "sydney", "melbourne", "auckland", "jerusalem", "tel_aviv", "santiago", "havana",
    "cet", "cest", "eet", "eest", "bst", "edt", "cdt", "mdt", "pdt", "mez", "mesz",
    "est5edt", "cst6cdt", "mst7mdt", "pst8pdt",
})
# The North American zone names: daylight saving there, but in Africa (`eastern` for East
# Africa Time) not; they count only with an offset west of UTC.
AMERICAN_WORDS = frozenset({"eastern", "central", "mountain", "pacific", "atlantic", "alaska"})
