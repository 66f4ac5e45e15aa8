import type { InvoiceLineView } from "./invoices.schemas.js";
import { GREY, PAGE, STRIPE, type Align, type Sheet } from "./invoice-pdf-sheet.js";
import { groupAmount } from "./invoice-pdf-text.js";

/** Inner padding of a cell on each side. */
const PAD = 3;
const SIZE = 8.5;
const LINE = 11;
const ROW_PAD = 2.5;

interface Column {
  title: string;
  width: number;
  align: Align;
  cell: (l: InvoiceLineView) => string;
}

/** The lines table: position, description, quantity, unit, unit price, VAT %, net (widths add up to the page). */
function columns(currency: string): Column[] {
  return [
    { title: "#", width: 24, align: "right", cell: (l) => String(l.position) },
    { title: "Description", width: 205, align: "left", cell: (l) => l.description },
    { title: "Quantity", width: 62, align: "right", cell: (l) => l.quantity },
    { title: "Unit", width: 50, align: "left", cell: (l) => l.unit },
    { title: "Unit price", width: 56, align: "right", cell: (l) => l.unitPrice },
    { title: "VAT %", width: 36, align: "right", cell: (l) => l.vatRate },
    { title: `Net (${currency})`, width: PAGE.right - PAGE.left - 433, align: "right", cell: (l) => groupAmount(l.net) },
  ];
}

/** Left edge of each column. */
function edges(cols: Column[]): number[] {
  const xs: number[] = [];
  let x = PAGE.left;
  for (const c of cols) {
    xs.push(x);
    x += c.width;
  }
  return xs;
}

/**
 * Draws the invoice lines from the sheet's cursor on, starting new pages as needed; every page the table
 * continues on repeats its header row. Descriptions wrap inside their column; numbers that would not fit their
 * column are set smaller rather than cut.
 */
export function drawLinesTable(sheet: Sheet, lines: readonly InvoiceLineView[], currency: string, continuedLabel: string): void {
  const cols = columns(currency);
  const xs = edges(cols);
  const descriptionWidth = cols[1]!.width - 2 * PAD;

  const header = () => {
    sheet.font("bold", SIZE);
    const y = sheet.y;
    sheet.fillRect(PAGE.left, y, PAGE.right - PAGE.left, LINE + 2 * ROW_PAD, "#e4e8ee");
    cols.forEach((c, i) => {
      const x = c.align === "right" ? xs[i]! + c.width - PAD : xs[i]! + PAD;
      sheet.text(c.title, x, y + ROW_PAD, { align: c.align, max: c.width - 2 * PAD });
    });
    sheet.y = y + LINE + 2 * ROW_PAD;
    sheet.font("regular", SIZE);
  };

  // A continuation page names the document before the table goes on.
  sheet.onNewPage = () => {
    sheet.font("regular", 8).text(continuedLabel, PAGE.left, sheet.y, { color: GREY });
    sheet.y += 16;
    header();
  };

  sheet.ensure(3 * (LINE + 2 * ROW_PAD));
  header();
  lines.forEach((line, n) => {
    const description = sheet.wrap(line.description, descriptionWidth);
    const height = description.length * LINE + 2 * ROW_PAD;
    sheet.ensure(height);
    const y = sheet.y;
    if (n % 2 === 1) sheet.fillRect(PAGE.left, y, PAGE.right - PAGE.left, height, STRIPE);
    cols.forEach((c, i) => {
      if (i === 1) {
        description.forEach((text, k) => sheet.text(text, xs[i]! + PAD, y + ROW_PAD + k * LINE));
        return;
      }
      const x = c.align === "right" ? xs[i]! + c.width - PAD : xs[i]! + PAD;
      sheet.text(c.cell(line), x, y + ROW_PAD, { align: c.align, max: c.width - 2 * PAD });
    });
    sheet.y = y + height;
  });
  sheet.onNewPage = null;
  sheet.rule(PAGE.left, PAGE.right, sheet.y);
}
