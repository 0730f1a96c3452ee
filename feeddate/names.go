package feeddate

// The word tables. Keys are normalised as fold does: ASCII lower-cased, Arabic without harakat
// or tatweel, أ إ آ ٱ written ا, ى written ي, ة written ه, Persian ی and ک written ي and ك.

// months maps one-word month names to their number: English, French, and the Arabic names of
// the Egyptian and Gulf (يناير), Moroccan (يناير … غشت شتنبر نونبر دجنبر), Maghrebi (جانفي)
// and Levantine (شباط) families. The Levantine months that take two words (كانون الثاني …)
// are in compoundMonths. A name with the article ال is looked up without it too.
var months = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
	"apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
	"aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10,
	"nov": 11, "november": 11, "dec": 12, "december": 12,

	"janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "fév": 2,
	"mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7,
	"août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
	"décembre": 12, "decembre": 12, "déc": 12,

	// Egypt, the Gulf, Sudan, Libya.
	"يناير": 1, "فبراير": 2, "مارس": 3, "ابريل": 4, "مايو": 5, "يونيو": 6, "يونيه": 6,
	"يوليو": 7, "يوليه": 7, "اغسطس": 8, "سبتمبر": 9, "اكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
	// Morocco.
	"ماي": 5, "يوليوز": 7, "غشت": 8, "شتنبر": 9, "نونبر": 11, "دجنبر": 12,
	// Algeria and Tunisia.
	"جانفي": 1, "فيفري": 2, "افريل": 4, "جوان": 6, "جويليه": 7, "اوت": 8,
	// The Levant and Iraq (Syriac names).
	"شباط": 2, "اذار": 3, "نيسان": 4, "ايار": 5, "حزيران": 6, "تموز": 7, "اب": 8, "ايلول": 9,
}

// compoundMonths maps the first word of a two-word Levantine month to the month given by its
// second word: "first" or "second" (الأول, الثاني, with or without the article).
var compoundMonths = map[string]struct{ first, second int }{
	"كانون": {first: 12, second: 1},
	"تشرين": {first: 10, second: 11},
}

// ordinals are the second words of compoundMonths: 1 for "first", 2 for "second".
var ordinals = map[string]int{"اول": 1, "الاول": 1, "ثاني": 2, "الثاني": 2}

// weekdays are recognised and ignored: a wrong weekday is common and the date decides.
var weekdays = map[string]bool{
	"sun": true, "sunday": true, "mon": true, "monday": true, "tue": true, "tues": true,
	"tuesday": true, "wed": true, "weds": true, "wednesday": true, "thu": true, "thur": true,
	"thurs": true, "thursday": true, "fri": true, "friday": true, "sat": true, "saturday": true,
	"lundi": true, "mardi": true, "mercredi": true, "jeudi": true, "vendredi": true,
	"samedi": true, "dimanche": true,
	// Arabic, looked up without the article: الأحد الاثنين الثلاثاء الأربعاء الخميس الجمعة السبت.
	"احد": true, "اثنين": true, "ثلاثاء": true, "ثلاثا": true, "اربعاء": true, "اربعا": true,
	"خميس": true, "جمعه": true, "سبت": true,
}

// zones maps the zone abbreviations feeds use to their offset in seconds east of UTC. The
// Middle East readings win where an abbreviation is ambiguous: AST is Arabia Standard Time
// (+03:00), not Atlantic, and GST is Gulf Standard Time (+04:00), not South Georgia. The North
// American and European ones are those gofeed uses, so that both parsers agree on them.
var zones = map[string]int{
	"z": 0, "ut": 0, "utc": 0, "gmt": 0, "wet": 0,
	"west": 1 * 3600, "bst": 1 * 3600, "cet": 1 * 3600, "cest": 2 * 3600,
	"eet": 2 * 3600, "eest": 3 * 3600, "msk": 3 * 3600, "trt": 3 * 3600,
	"ast": 3 * 3600, "gst": 4 * 3600, "irst": 3*3600 + 1800, "irdt": 4*3600 + 1800,
	"est": -5 * 3600, "edt": -4 * 3600, "cst": -6 * 3600, "cdt": -5 * 3600,
	"mst": -7 * 3600, "mdt": -6 * 3600, "pst": -8 * 3600, "pdt": -7 * 3600,
	// Greenwich in Arabic spellings, and Mecca time (بتوقيت مكة), which has no daylight saving.
	"غرينتش": 0, "غرينيتش": 0, "جرينتش": 0, "جرينيتش": 0, "قرينتش": 0,
	"مكه": 3 * 3600,
}

// utcZones are the zone names that mean UTC itself; an offset may follow them (GMT+3).
var utcZones = map[string]bool{"z": true, "ut": true, "utc": true, "gmt": true}

// meridiem says how a word shifts the hour of a 12-hour clock.
type meridiem uint8

const (
	noMeridiem meridiem = iota
	am                  // 12 → 0, else unchanged
	pm                  // 1–11 → +12
	noon                // Arabic ظهرا, "at noon": 1–5 → +12, otherwise unchanged
	night               // Arabic ليلا, "at night": 12 → 0, 6–11 → +12, 1–5 unchanged
)

// meridiems are the AM/PM words. The Arabic م (PM) is also the era mark of a Gregorian year
// (2015م); the parser tells the two apart by what comes before it.
var meridiems = map[string]meridiem{
	"am": am, "pm": pm,
	"ص": am, "صباحا": am, "صباح": am, "فجرا": am,
	"م": pm, "مساء": pm, "مساءا": pm, "عصرا": pm,
	"ظهرا": noon, "ليلا": night,
}

// fillers are words that carry no date information: connectives ("of", "in", "on"), "year",
// "hour", "time", "corresponding to", "published", "last update".
var fillers = map[string]bool{
	"at": true, "on": true, "of": true, "the": true, "le": true, "à": true,
	"عام": true, "العام": true, "سنه": true, "السنه": true, "الموافق": true, "موافق": true, "الموافقه": true,
	"في": true, "الساعه": true, "ساعه": true, "بتوقيت": true, "توقيت": true, "يوم": true,
	"تاريخ": true, "التاريخ": true, "بتاريخ": true, "نشر": true, "اخر": true, "تحديث": true,
	"المكرمه": true, "ميلادي": true, "ميلاديه": true, "من": true, "لعام": true, "لسنه": true,
}

// ordinalSuffixes follow a day number in English: 1st, 2nd, 3rd, 4th.
var ordinalSuffixes = map[string]bool{"st": true, "nd": true, "rd": true, "th": true}

// hijri are the marks of a Hijri year and the Hijri month names: this package does not convert
// the Islamic calendar. The second word of ربيع الأول, جمادى الآخرة, ذو القعدة is not needed.
var hijri = map[string]bool{
	"ه": true, "هجري": true, "هجريه": true, "للهجره": true,
	"محرم": true, "صفر": true, "ربيع": true, "جمادي": true, "رجب": true, "شعبان": true,
	"رمضان": true, "شوال": true, "ذو": true,
}

// corresponding joins a Hijri date to its Gregorian equivalent: "14 شوال 1436 هـ الموافق 30
// يوليو 2015م".
var corresponding = map[string]bool{"الموافق": true, "موافق": true, "الموافقه": true}
