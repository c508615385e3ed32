// The two ports e2e serves on, from the environment so that two checkouts can run e2e side by side:
// INPAGE_E2E_PORT (scripts/serve.mjs: the built library, model and test pages; default 4173) and
// INPAGE_DEMO_PORT (the built demo under `vite preview`; default 5174, 5173 stays free for `npm run demo`).
export const E2E_PORT = Number(process.env.INPAGE_E2E_PORT ?? 4173)
export const DEMO_PORT = Number(process.env.INPAGE_DEMO_PORT ?? 5174)
export const E2E_ORIGIN = `http://127.0.0.1:${E2E_PORT}`
export const DEMO_ORIGIN = `http://127.0.0.1:${DEMO_PORT}`
