import { createMemoryStore } from "./memory";
import { localStoreSuite } from "./store-suite";

localStoreSuite("memory", () => createMemoryStore());
