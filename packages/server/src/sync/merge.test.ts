import { mergeSuite } from "./merge-suite";

mergeSuite("PGlite", { runs: 25 });
