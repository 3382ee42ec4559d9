// Passkeys on Tessera's pages: sign-in (button and browser autofill), second factor, and adding a
// passkey on the account page. Uses @simplewebauthn/browser (served from this origin as
// /assets/simplewebauthn-browser.js, global SimpleWebAuthnBrowser). Every form it completes also
// works as a plain form post: the server does all the checking.
'use strict'
;(function () {
  const webauthn = globalThis.SimpleWebAuthnBrowser
  const forms = Array.from(document.querySelectorAll('form[data-passkey]'))
  if (forms.length === 0) return
  if (!webauthn || !webauthn.browserSupportsWebAuthn()) {
    for (const form of forms) form.hidden = true
    return
  }

  async function options(form, url, fields) {
    const body = new URLSearchParams({ _csrf: form.elements._csrf.value, ...fields })
    const response = await fetch(url, { method: 'POST', body, credentials: 'same-origin', headers: { accept: 'application/json' } })
    if (!response.ok) throw new Error('the server refused: ' + response.status)
    return response.json()
  }

  function say(form, text) {
    const status = form.querySelector('.passkey-status')
    if (status) status.textContent = text
  }

  function submitWith(form, credential) {
    form.elements.credential.value = JSON.stringify(credential)
    form.submit()
  }

  async function authenticate(form, purpose, autofill) {
    const optionsJSON = await options(form, '/login/passkey/options', { purpose })
    const credential = await webauthn.startAuthentication({ optionsJSON, useBrowserAutofill: autofill })
    submitWith(form, credential)
  }

  function failed(form, error) {
    // The person cancelled, or the authenticator refused: nothing was sent.
    // The words come from the page (data-cancelled, data-failed), in its language.
    if (error && error.name === 'NotAllowedError') return say(form, form.dataset.cancelled || 'No passkey was used.')
    say(form, form.dataset.failed || 'The passkey could not be used here. Try again, or use another way to sign in.')
  }

  for (const form of forms) {
    const purpose = form.dataset.passkey
    const button = form.querySelector('.passkey-button')
    if (purpose === 'register') {
      button.addEventListener('click', async () => {
        try {
          const optionsJSON = await options(form, '/account/passkeys/options', {})
          submitWith(form, await webauthn.startRegistration({ optionsJSON }))
        } catch (error) {
          failed(form, error)
        }
      })
      continue
    }
    button.addEventListener('click', () => authenticate(form, purpose, false).catch((error) => failed(form, error)))
    // Conditional mediation: the email field (autocomplete="username webauthn") offers passkeys.
    if (purpose === 'login') {
      webauthn.browserSupportsWebAuthnAutofill().then((supported) => {
        if (supported) authenticate(form, 'login', true).catch(() => undefined)
      })
    }
  }
})()
