// Drives the two engines Playwright cannot drive on this machine, from Debian's packages, behind one small
// interface (goto, run a function in the page, close) for the cross-engine e2e suite and the bench:
//   Firefox ESR over WebDriver BiDi with puppeteer-core, headless;
//   WebKitGTK's MiniBrowser through WebKitWebDriver (selenium-webdriver), under xvfb-run (it has no headless mode).
// A browser that is missing or does not start is an error, never a skip: setup.sh installs both.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'
export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver'
export const MINIBROWSER = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser'
/** How long one run() may take in the page (a first model load on a busy 2-core machine is slow). */
const SCRIPT_TIMEOUT_MS = 240_000
/** Without a display MiniBrowser never answers new-session: give up instead of hanging. */
const START_TIMEOUT_MS = 60_000

function need(file, pkg) {
  if (!existsSync(file)) throw new Error(`${file} is missing: install Debian's ${pkg} (scripts/setup.sh does)`)
}

function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    Promise.resolve(promise).finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms))),
  ])
}

/** The function's source, called with `arg`; what it returns (or throws) comes back as JSON. */
const call = (fn) => `(${fn.toString()})`

/** Firefox ESR, headless, over WebDriver BiDi. `prefs` are Firefox preferences for this browser process. */
export async function launchFirefox({ prefs = {} } = {}) {
  need(FIREFOX, 'firefox-esr')
  const { default: puppeteer } = await import('puppeteer-core')
  const browser = await withTimeout(
    puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, protocol: 'webDriverBiDi', headless: true, extraPrefsFirefox: prefs }),
    START_TIMEOUT_MS,
    'firefox-esr start',
  )
  const page = await browser.newPage()
  page.setDefaultTimeout(SCRIPT_TIMEOUT_MS)
  const errors = []
  page.on('pageerror', (e) => errors.push(String(e?.message ?? e)))
  const version = (await browser.version()).replace(/^firefox\//i, 'Firefox ')
  return {
    engine: 'firefox',
    version,
    errors,
    async goto(url) {
      await page.goto(url, { waitUntil: 'load' })
    },
    run(fn, arg) {
      return page.evaluate(fn, arg)
    },
    async close() {
      await browser.close().catch(() => {})
    },
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function waitForDriver(url, proc) {
  const until = Date.now() + START_TIMEOUT_MS
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${proc.exitCode}`)
    try {
      if ((await fetch(`${url}/status`)).ok) return
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`WebKitWebDriver did not listen on ${url} within ${START_TIMEOUT_MS / 1000} s`)
}

/** WebKitGTK's MiniBrowser through WebKitWebDriver, on an Xvfb display that lives as long as the session. */
export async function launchWebKit() {
  need(WEBKIT_DRIVER, 'webkit2gtk-driver')
  need(MINIBROWSER, 'webkit2gtk-driver (libwebkit2gtk-4.1)')
  const { Builder } = await import('selenium-webdriver')
  const port = await freePort()
  // Its own process group, so that close() ends Xvfb, the driver and MiniBrowser together.
  const proc = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', WEBKIT_DRIVER, `--port=${port}`], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)))
  const kill = (signal) => {
    try {
      process.kill(-proc.pid, signal)
    } catch {
      /* already gone */
    }
  }
  const url = `http://127.0.0.1:${port}`
  let driver
  try {
    await waitForDriver(url, proc)
    driver = await withTimeout(
      new Builder()
        .usingServer(url)
        .withCapabilities({
          browserName: 'MiniBrowser',
          'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
        })
        .build(),
      START_TIMEOUT_MS,
      'WebKitWebDriver new session',
    )
    await driver.manage().setTimeouts({ script: SCRIPT_TIMEOUT_MS, pageLoad: 60_000 })
  } catch (err) {
    kill('SIGKILL')
    throw new Error(`WebKit did not start: ${err.message}${stderr ? `\n${stderr}` : ''}`)
  }
  const caps = await driver.getCapabilities()
  return {
    engine: 'webkit',
    version: `WebKitGTK ${caps.get('browserVersion')}`,
    /** No BiDi here: page errors are not observable from outside; specs check what they need inside the page. */
    errors: [],
    async goto(u) {
      await driver.get(u)
    },
    async run(fn, arg) {
      // executeAsyncScript's callback carries only JSON: a thrown error comes back as {error} and is rethrown here.
      const out = await driver.executeAsyncScript(
        `const done = arguments[arguments.length - 1];
         Promise.resolve().then(() => ${call(fn)}(arguments[0])).then(
           (value) => done({ value: value === undefined ? null : value }),
           (e) => done({ error: String(e && e.name ? e.name + ': ' + e.message : e) }))`,
        arg,
      )
      if (out && 'error' in out) throw new Error(out.error)
      return out?.value ?? undefined
    },
    async close() {
      await withTimeout(driver.quit(), 10_000, 'WebKit quit').catch(() => {})
      kill('SIGTERM')
      await new Promise((r) => setTimeout(r, 300))
      kill('SIGKILL')
    },
  }
}

/** Starts the named engine. */
export function launchEngine(name, options) {
  if (name === 'firefox') return launchFirefox(options)
  if (name === 'webkit') return launchWebKit()
  throw new Error(`unknown engine ${name}`)
}
