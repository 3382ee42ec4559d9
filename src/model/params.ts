/** Raw parameters as parsed from a query string or form body: repeated keys become arrays. */
export type RawParams = Readonly<Record<string, string | readonly string[] | undefined>>
