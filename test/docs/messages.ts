// The error and problem messages the resource can produce, read from provider/ with the TypeScript compiler's
// parser: every `new …Error(…)`, every `problem(…)` (domain problems), every input-validation failure, every
// apply guard. Each becomes a site with its message text, interpolations resolved where they are constants
// (ANN.*, GO_BOOL_EXPECTED, tag keys) and shown as "…" where they are runtime values.
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

export const ROOT = path.resolve(__dirname, "..", "..");
export const HOLE = "…";

export interface MessageSite {
  /** provider/… path and 1-based line */
  file: string;
  line: number;
  /** how the message is built: new ClusterReadError, problem, validation, … */
  kind: string;
  text: string;
}

function providerFiles(): string[] {
  return fs
    .globSync("provider/**/*.ts", { cwd: ROOT })
    .filter((f) => !f.startsWith("provider/cli/"))
    .sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(
    file,
    fs.readFileSync(path.join(ROOT, file), "utf8"),
    ts.ScriptTarget.Latest,
    true,
  );
}

/**
 * Module-level string constants (`const X = "…"`, or a template of other constants) and the string members of
 * constant objects (`ANN.groupName` = `${ALB}group.name`). Two passes resolve constants built from constants.
 */
function collectConstants(sources: ts.SourceFile[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let pass = 0; pass < 2; pass++) {
    for (const sf of sources) {
      for (const stmt of sf.statements) {
        if (!ts.isVariableStatement(stmt)) continue;
        for (const decl of stmt.declarationList.declarations) {
          if (!ts.isIdentifier(decl.name) || decl.initializer === undefined) continue;
          let init: ts.Expression = decl.initializer;
          if (ts.isAsExpression(init)) init = init.expression;
          if (ts.isStringLiteralLike(init) || ts.isTemplateExpression(init)) {
            const value = evaluate(init, out);
            if (!value.includes(HOLE)) out.set(decl.name.text, value);
          }
          if (ts.isObjectLiteralExpression(init))
            for (const p of init.properties) {
              if (!ts.isPropertyAssignment(p) || !ts.isIdentifier(p.name)) continue;
              const value = evaluate(p.initializer, out);
              if (!value.includes(HOLE)) out.set(`${decl.name.text}.${p.name.text}`, value);
            }
        }
      }
    }
  }
  return out;
}

function evaluate(node: ts.Node | undefined, constants: Map<string, string>): string {
  if (node === undefined) return "";
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node))
    return evaluate(node.expression, constants);
  if (ts.isTemplateExpression(node))
    return (
      node.head.text +
      node.templateSpans.map((s) => evaluate(s.expression, constants) + s.literal.text).join("")
    );
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken)
    return evaluate(node.left, constants) + evaluate(node.right, constants);
  if (ts.isIdentifier(node) || ts.isPropertyAccessExpression(node))
    return constants.get(node.getText()) ?? HOLE;
  if (ts.isCallExpression(node) || ts.isArrowFunction(node) || ts.isObjectLiteralExpression(node))
    return HOLE;
  if (ts.isConditionalExpression(node))
    return `${evaluate(node.whenTrue, constants)}|${evaluate(node.whenFalse, constants)}`;
  return HOLE;
}

function calleeName(node: ts.CallExpression | ts.NewExpression): string {
  const e = node.expression;
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.getText();
  return "";
}

/** Every message site in provider/ (the offline CLI under provider/cli is not the resource: left out). */
export function messageSites(): MessageSite[] {
  const files = providerFiles();
  const sources = files.map(parse);
  const constants = collectConstants(sources);
  const sites: MessageSite[] = [];
  sources.forEach((sf, i) => {
    const file = files[i]!;
    const add = (node: ts.Node, kind: string, text: string) =>
      sites.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1, kind, text });
    const ev = (n: ts.Node | undefined) => evaluate(n, constants);
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) && /Error$/.test(calleeName(node)))
        add(node, `new ${calleeName(node)}`, ev(node.arguments?.[0]));
      if (ts.isCallExpression(node)) {
        const name = calleeName(node);
        const a = node.arguments;
        if (name === "problem" && file.startsWith("provider/domain/")) {
          const why = a[4] === undefined ? "" : ` (${ev(a[4])})`;
          add(node, "problem", `${ev(a[0])}: ${ev(a[1])} is "${ev(a[2])}"; expected ${ev(a[3])}${why}`);
        }
        if (file === "provider/inputs.ts" && name === "fail")
          add(node, "validation", `${ev(a[0])} is ${HOLE}; expected ${ev(a[2])}`);
        if (file === "provider/inputs.ts" && name === "optionalString")
          add(
            node,
            "validation",
            `${ev(a[0])} is ${HOLE}; expected ${a[3] ? ev(a[3]) : "a non-empty string"}`,
          );
        if (file === "provider/inputs.ts" && name === "optionalBool")
          add(node, "validation", `${ev(a[0])} is ${HOLE}; expected true or false`);
        if (file === "provider/aws/apply.ts" && name === "fail") add(node, "apply step", ev(a[0]));
        if (name === "problems.push" && a[0] !== undefined && !ts.isCallExpression(a[0]))
          add(node, "problems.push", ev(a[0]));
      }
      // check failures built inline: { property, reason: `…` }
      if (
        ts.isPropertyAssignment(node) &&
        node.name.getText() === "reason" &&
        (file === "provider/inputs.ts" || file === "provider/provider.ts")
      )
        add(node, "check failure", ev(node.initializer));
      // the step descriptions apply.ts prefixes to EC2 errors
      if (
        ts.isVariableDeclaration(node) &&
        file === "provider/aws/apply.ts" &&
        node.name.getText() === "what" &&
        node.initializer !== undefined
      )
        add(node, "apply step", ev(node.initializer));
      ts.forEachChild(node, visit);
    };
    visit(sf);
  });
  return sites;
}

/** The letters a site's text has besides its holes: a site with none only passes another message on. */
export function literalLetters(text: string): number {
  return text
    .split(HOLE)
    .join("")
    .replace(/[^A-Za-z]/g, "").length;
}
