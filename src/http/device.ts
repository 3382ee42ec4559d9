/** A short human description of a browser from its User-Agent, for the account page's session list. */
const BROWSERS: readonly [RegExp, string][] = [
  [/Edg\//, 'Edge'],
  [/OPR\//, 'Opera'],
  [/Firefox\//, 'Firefox'],
  [/Chrome\/|Chromium\//, 'Chrome'],
  [/Safari\//, 'Safari'],
  [/curl\//, 'curl'],
]
const SYSTEMS: readonly [RegExp, string][] = [
  [/Android/, 'Android'],
  [/iPhone|iPad|iOS/, 'iOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
]

/** `t`: the page's words (messages account.device_*); product names stay as they are. */
export function describeDevice(userAgent: string | null, t: (key: string, values?: Readonly<Record<string, string>>) => string): string {
  if (userAgent === null || userAgent === '') return t('account.device_unknown')
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1] ?? t('account.device_browser')
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1]
  return system ? t('account.device_on', { browser, system }) : browser
}
