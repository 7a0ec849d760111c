// Node 20 has Symbol.asyncDispose but not AsyncDisposableStack; the es-shims polyfill installs
// the standard global, so this file can go once Node 24 is the floor.
import "disposablestack/auto";

export const AsyncStack: typeof AsyncDisposableStack = globalThis.AsyncDisposableStack;
