// Entry point for `pulumi up` with a Node language host; `npm run demo` runs the same program inline.
import { program } from "./program";

export = program();
