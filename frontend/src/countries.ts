// Countries whose public holidays the forecast models can use: the ISO 3166 alpha-2 codes the API's
// `holidays` package supports (the API checks every code it is sent; an unknown one is a 400 naming it).
// To refresh: python -c "import holidays; print(sorted(c for c in holidays.list_supported_countries() if len(c) == 2))"

const CODES = [
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ',
  'BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR',
  'CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR',
  'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU',
  'ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ',
  'LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ',
  'MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF',
  'PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI',
  'SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR',
  'TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW',
].join(' ')

export const COUNTRY_CODES: readonly string[] = CODES.split(' ')

let names: Intl.DisplayNames | null = null
try {
  names = new Intl.DisplayNames(undefined, { type: 'region' })
} catch {
  names = null
}

/** A country's name in the reader's language, with its code ("United Kingdom (GB)"). */
export function countryLabel(code: string): string {
  let name: string | undefined
  try {
    name = names?.of(code)
  } catch {
    name = undefined
  }
  return name && name !== code ? `${name} (${code})` : code
}

/** The codes sorted by their names, with `current` included even when it is not in the list. */
export function countryOptions(current: string | null): { code: string; label: string }[] {
  const codes = current && !COUNTRY_CODES.includes(current) ? [...COUNTRY_CODES, current] : [...COUNTRY_CODES]
  return codes.map((code) => ({ code, label: countryLabel(code) })).sort((a, b) => a.label.localeCompare(b.label))
}
