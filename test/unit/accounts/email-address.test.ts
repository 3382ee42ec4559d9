import t from 'tap'
import { emailAddressProblem, isMixedScript, normaliseEmail } from '../../../src/accounts/email-address.js'

t.test('spellings a person cannot tell apart have one canonical form', async (t) => {
  const canonical = normaliseEmail('josé@example.com')
  t.equal(canonical, 'jos\u00e9@example.com', 'NFC')
  t.equal(normaliseEmail('jose\u0301@example.com'), canonical, 'NFD is composed (RFC 8265 §3.3.2 rule 4)')
  t.equal(normaliseEmail('JOSÉ@EXAMPLE.COM'), canonical, 'case mapped')
  t.equal(normaliseEmail('ｊｏｓé＠ｅｘａｍｐｌｅ．ｃｏｍ'), canonical, 'fullwidth characters are width-mapped, @ and . included')
  t.equal(normaliseEmail('  josé@example.com\n'), canonical, 'surrounding whitespace goes')
  t.equal(normaliseEmail('josé@example.com.'), canonical, 'a trailing dot in the domain is the same domain')
  t.equal(normaliseEmail('a@Bücher.DE'), 'a@xn--bcher-kva.de', 'the domain in IDNA ASCII form')
  t.equal(normaliseEmail('a@xn--bcher-kva.de'), 'a@xn--bcher-kva.de', 'already-ASCII domains are kept')
  t.equal(normaliseEmail('not an address'), 'not an address', 'never throws')
})

t.test('new addresses: refused with a reason when they could only be told apart by tricks', async (t) => {
  t.equal(emailAddressProblem('ada@example.com'), null)
  t.equal(emailAddressProblem('josé@bücher.de'), null, 'one script per part is fine')
  t.equal(emailAddressProblem('山田たろう@example.jp'), null, 'Japanese mixes Han and Hiragana')
  t.equal(emailAddressProblem('ivan@пример.рф'), null, 'a Latin local part with a Cyrillic domain: each label is one script')
  t.match(emailAddressProblem('ada@example.com.'), /dot at the end/)
  t.match(emailAddressProblem('p\u0430ypal@example.com'), /mixes alphabets/, 'Cyrillic a in a Latin local part')
  t.match(emailAddressProblem('ada@p\u0430ypal.com'), /domain mixes alphabets/, 'Cyrillic a in a Latin domain label')
  t.match(
    emailAddressProblem(`ada@${normaliseEmail('x@p\u0430ypal.com').split('@')[1]}`),
    /domain mixes alphabets/,
    'also when the label arrives as xn--',
  )
  t.match(emailAddressProblem('ada\u200b@example.com'), /invisible/, 'zero-width space')
  t.match(emailAddressProblem('ada lovelace@example.com'), /spaces/)
  for (const bad of [
    '',
    'ada',
    'ada@',
    '@example.com',
    'ada@localhost',
    'ada@-example.com',
    `${'a'.repeat(65)}@example.com`,
    `a@${'b'.repeat(320)}.com`,
  ]) {
    t.not(emailAddressProblem(bad), null, JSON.stringify(bad))
  }
})

t.test('mixed-script detection ignores digits, punctuation and combining marks', async (t) => {
  t.equal(isMixedScript('ada.lovelace-1815'), false)
  t.equal(isMixedScript('jose\u0301'), false)
  t.equal(isMixedScript('αβγ'), false)
  t.equal(isMixedScript('abcγ'), true)
  t.equal(isMixedScript('한국abc'), false, 'Latin with Hangul is an allowed mix')
  t.equal(isMixedScript('한국ひらがな'), true, 'Hangul with Hiragana is not')
})
