// The figures of reliability-tests.md that do not fit the default suite's time budget (a shared
// 2-core machine) run in full with PM_RELIABILITY_FULL=1, `pnpm test:full` in this package. The
// default runs fewer of the same runs: each one asserts the same thing.
export const FULL_RELIABILITY = process.env.PM_RELIABILITY_FULL === '1'

/** The spec's figure in a full run, a smaller one by default. */
export function figure(byDefault: number, full: number): number {
  return FULL_RELIABILITY ? full : byDefault
}
