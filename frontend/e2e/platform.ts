// Global set-up of the end-to-end run: start the real castflow (API, ETL and forecast workers) on a free port
// with a throw-away SQLite database and upload directory, and stop it afterwards.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { browserPath } from './browser'

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The API key the platform runs with: the tests also prove the app asks for it and sends it. */
export const E2E_API_KEY = 'e2e-key-0123456789'

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`castflow exited with code ${child.exitCode} at start`)
    try {
      if ((await fetch(`${url}health`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300))
  }
  throw new Error(`castflow did not answer ${url}health within ${timeoutMs / 1000} s`)
}

function stop(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.pid === undefined) return done()
    const timer = setTimeout(() => {
      try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ }
    }, graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      done()
    })
    try { process.kill(-child.pid, 'SIGTERM') } catch { done() }
  })
}

/** Start the platform; the returned function stops it and removes its files. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!browserPath()) {
    const message = 'Chromium not found (set CASTFLOW_CHROMIUM or install /usr/bin/chromium): the web app end-to-end tests cannot run'
    if (process.env.CASTFLOW_REQUIRE_BROWSER === '1') throw new Error(message)
    console.warn(`\n${'!'.repeat(100)}\n!!! SKIPPED: ${message}\n${'!'.repeat(100)}\n`)
    process.env.CASTFLOW_E2E_SKIP = message
    return async () => {}
  }
  if (!existsSync(join(REPO, 'frontend', 'dist', 'index.html'))) throw new Error('frontend/dist is missing: run `npm run build` first')
  const python = process.env.CASTFLOW_PYTHON || join(REPO, '.venv', 'bin', 'python')
  const work = mkdtempSync(join(tmpdir(), 'castflow-e2e-'))
  const port = await freePort()
  // A Redis URL nobody answers at makes the local run start its own Redis, unless one is given.
  const redis = process.env.CASTFLOW_E2E_REDIS_URL || `redis://127.0.0.1:${await freePort()}/0`
  mkdirSync(join(REPO, 'test-artifacts'), { recursive: true })
  const log = openSync(join(REPO, 'test-artifacts', 'e2e-platform.log'), 'w')
  const database = `sqlite:///${join(work, 'castflow.db')}`
  const child = spawn(python, ['-m', 'services.local', '--port', String(port)], {
    cwd: REPO, detached: true, stdio: ['ignore', log, log],
    env: {
      ...process.env, CASTFLOW_ENV_FILE: '', DATABASE_URL: database,
      UPLOAD_DIR: join(work, 'uploads'), REDIS_URL: redis, QUEUE_PREFIX: `e2e-${process.pid}-`, API_KEY: E2E_API_KEY,
      WEB_WORKERS: '1', WEB_THREADS: '8', LOG_LEVEL: 'INFO',
      PRODUCT_FORECAST_MAX: '0', // the pages under test forecast categories; products have their own tests
    },
  })
  const url = `http://127.0.0.1:${port}/`
  try {
    await waitForHealth(url, child, 90_000)
  } catch (exc) {
    await stop(child, 5_000)
    throw exc
  }
  process.env.CASTFLOW_E2E_URL = url
  // For specs that seed what a forecast worker would write (product forecasts) straight into the database.
  process.env.CASTFLOW_E2E_DATABASE_URL = database
  process.env.CASTFLOW_E2E_PYTHON = python
  return async () => {
    await stop(child, 20_000)
    rmSync(work, { recursive: true, force: true })
  }
}
