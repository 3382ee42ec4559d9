import type t from 'tap'

/** The assertions that helper functions in a test file need from a (sub)test. */
export type Assert = Pick<typeof t, 'equal' | 'not' | 'ok' | 'notOk' | 'match' | 'notMatch' | 'same' | 'has' | 'type'>
