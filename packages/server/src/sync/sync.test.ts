import { syncSuite } from "./sync-suite";

syncSuite("PGlite");
