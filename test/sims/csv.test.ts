import t from "tap";
import { CsvSyntaxError, parseCsv } from "../../src/modules/sims/csv.js";

t.test("RFC 4180: quotes, doubled quotes, line breaks inside quotes, CRLF or LF, BOM", async (t) => {
  const text = '\uFEFFa,b,c\r\n1,"two, with comma","say ""hi"""\r\n\r\n"multi\nline",x,\n3,,"last"';
  t.same(parseCsv(text), [
    { line: 1, fields: ["a", "b", "c"] },
    { line: 2, fields: ["1", "two, with comma", 'say "hi"'] },
    { line: 4, fields: ["multi\nline", "x", ""] },
    { line: 6, fields: ["3", "", "last"] },
  ], "blank lines skipped; each record keeps the line it starts on");
  t.same(parseCsv("a;b\n1;2\n"), [{ line: 1, fields: ["a", "b"] }, { line: 2, fields: ["1", "2"] }], "semicolons when the header has no comma");
  t.same(parseCsv("a,b\r1,2"), [{ line: 1, fields: ["a", "b"] }, { line: 2, fields: ["1", "2"] }], "old Mac CR line ends");
  t.same(parseCsv('a,b\n1,x"y'), [{ line: 1, fields: ["a", "b"] }, { line: 2, fields: ["1", 'x"y'] }], "a quote inside an unquoted field is literal");
  t.same(parseCsv(""), []);
});

t.test("broken quoting names the line", async (t) => {
  t.throws(() => parseCsv('a,b\n1,"open\n2,3\n'), new CsvSyntaxError(2, "line 2: a quoted field is never closed"));
  t.throws(() => parseCsv('a,b\n"x"y,1\n'), /line 2: unexpected character after a closing quote/);
});
