// Just enough of vitest's test API for a shared suite to run in a browser worker: describe, it,
// afterEach and vitest's own `expect` (the @vitest/expect plugins on chai, as vitest builds it).
import { ASYMMETRIC_MATCHERS_OBJECT, chai, GLOBAL_EXPECT, getState, JestAsymmetricMatchers, JestChaiExpect, JestExtend, setState } from "@vitest/expect";

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

export const expect = (value, message) => {
  setState({ assertionCalls: (getState(expect)?.assertionCalls ?? 0) + 1 }, expect);
  return chai.expect(value, message);
};
Object.assign(expect, chai.expect);
Object.assign(expect, globalThis[ASYMMETRIC_MATCHERS_OBJECT]);
expect.getState = () => getState(expect);
expect.setState = (state) => setState(state, expect);
setState({ assertionCalls: 0, isExpectingAssertions: false, expectedAssertionsNumber: null }, expect);
Object.defineProperty(globalThis, GLOBAL_EXPECT, { value: expect, writable: true, configurable: true });

const root = { name: "", tests: [], children: [], afterEach: [], parent: null };
let current = root;

export function describe(name, fn) {
  const group = { name, tests: [], children: [], afterEach: [], parent: current };
  current.children.push(group);
  const outer = current;
  current = group;
  try {
    fn();
  } finally {
    current = outer;
  }
}

export function it(name, fn) {
  current.children.push({ test: true, name, fn });
}
export const test = it;

export function afterEach(fn) {
  current.afterEach.push(fn);
}

/** Runs every registered test in order; resolves with one result per test. */
export async function runRegistered(onResult) {
  const results = [];
  async function runGroup(group, path, hooks) {
    const ownHooks = [...group.afterEach, ...hooks];
    for (const child of group.children) {
      if (child.test) {
        const name = [...path, child.name].join(" > ");
        let error = null;
        try {
          await child.fn();
        } catch (e) {
          error = e;
        }
        for (const hook of ownHooks) {
          try {
            await hook();
          } catch (e) {
            error ??= e;
          }
        }
        const result = { name, ok: error === null, error: error === null ? null : String(error?.stack ?? error) };
        results.push(result);
        onResult?.(result);
      } else {
        await runGroup(child, [...path, child.name], ownHooks);
      }
    }
  }
  await runGroup(root, [], []);
  return results;
}
