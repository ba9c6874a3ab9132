import { mergeSuite } from "./merge-suite";

mergeSuite("PostgreSQL", { runs: 25 });
