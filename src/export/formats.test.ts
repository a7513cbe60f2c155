import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { demoRestaurant } from "../../test/helpers/sample-events.ts";
import {
  assertBalanced,
  buildEntry,
  dayLines,
  UnbalancedEntryError,
  type JournalEntry,
} from "./entry.ts";
import { fileNameOf, renderEntry } from "./formats.ts";
import { formatCents } from "./money.ts";
import { testAccounts } from "./testing.ts";
import { emptyTotals } from "./totals.ts";

const restaurant = demoRestaurant({ export: { accounts: testAccounts() } });
const options = { byteOrderMark: true, xeroTaxRate: "Tax Exempt" };
const BOM = "\uFEFF";

/** Builds the sample order's day entry: 23.88 sales, 2.12 tax, 4.78 tips, paid by Visa. */
function sampleEntry(): JournalEntry {
  const totals = emptyTotals(restaurant, "2021-12-07");
  Object.assign(totals, {
    orderCount: 1,
    grossSalesCents: 2388,
    netSalesCents: 2388,
    taxCents: 212,
    tipCents: 478,
    collectedCents: 3078,
  });
  totals.byPaymentBrand.Visa = {
    orderCount: 1,
    collectedCents: 3078,
    refundCount: 0,
    refundedCents: 0,
  };
  return buildEntry(
    { restaurant, businessDate: "2021-12-07", revision: 1, kind: "day" },
    dayLines(totals, restaurant.export!),
  );
}

describe("formatCents", () => {
  it("renders cents with two places", () => {
    const cases: [number, string][] = [
      [0, "0.00"],
      [5, "0.05"],
      [99, "0.99"],
      [100, "1.00"],
      [3078, "30.78"],
      [-5, "-0.05"],
      [-2388, "-23.88"],
      [123456789, "1234567.89"],
    ];
    for (const [cents, text] of cases) assert.equal(formatCents(cents), text);
  });

  it("rejects fractions of a cent", () => {
    assert.throws(() => formatCents(30.78), RangeError);
    assert.throws(() => formatCents(Number.NaN), RangeError);
  });
});

describe("sample journal entry", () => {
  it("posts card clearing against sales, tax and tips", () => {
    const entry = sampleEntry();
    const figures = entry.lines.map((line) => [
      line.account.name,
      formatCents(line.debitCents),
      formatCents(line.creditCents),
    ]);
    assert.deepEqual(figures, [
      ["Card Clearing", "30.78", "0.00"],
      ["Sales", "0.00", "23.88"],
      ["Sales Tax Payable", "0.00", "2.12"],
      ["Tips Payable", "0.00", "4.78"],
    ]);
    assert.equal(entry.totalDebitCents, 3078);
    assert.equal(entry.totalCreditCents, 3078);
  });

  it("file names carry date and revision", () => {
    const entry = sampleEntry();
    assert.equal(fileNameOf(entry, "qbo-csv"), "demo_2021-12-07_r1.qbo.csv");
    assert.equal(fileNameOf(entry, "xero-csv"), "demo_2021-12-07_r1.xero.csv");
    assert.equal(fileNameOf(entry, "iif"), "demo_2021-12-07_r1.iif");
    assert.equal(fileNameOf(entry, "json"), "demo_2021-12-07_r1.json");
  });
});

describe("formats", () => {
  it("QuickBooks Online CSV content", () => {
    const expected =
      BOM +
      "Journal No.,Journal Date,Account Name,Debits,Credits,Description\r\n" +
      "demo-20211207-1,12/07/2021,Card Clearing,30.78,,Card payments\r\n" +
      "demo-20211207-1,12/07/2021,Sales,,23.88,Gross sales\r\n" +
      "demo-20211207-1,12/07/2021,Sales Tax Payable,,2.12,Sales tax\r\n" +
      "demo-20211207-1,12/07/2021,Tips Payable,,4.78,Tips\r\n";
    assert.equal(renderEntry(sampleEntry(), "qbo-csv", options), expected);
  });

  it("Xero manual journal CSV content", () => {
    const narration = '"demo-20211207-1 Bbot sales 2021-12-07, Demo Bistro"';
    const expected =
      BOM +
      "Narration,Date,Description,AccountCode,TaxRate,Amount\r\n" +
      `${narration},07 Dec 2021,Card payments,1200,Tax Exempt,30.78\r\n` +
      `${narration},07 Dec 2021,Gross sales,4000,Tax Exempt,-23.88\r\n` +
      `${narration},07 Dec 2021,Sales tax,2200,Tax Exempt,-2.12\r\n` +
      `${narration},07 Dec 2021,Tips,2300,Tax Exempt,-4.78\r\n`;
    assert.equal(renderEntry(sampleEntry(), "xero-csv", options), expected);
  });

  it("QuickBooks Desktop IIF content", () => {
    const expected = [
      "!TRNS\tTRNSID\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO",
      "!SPL\tSPLID\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO",
      "!ENDTRNS",
      "TRNS\t\tGENERAL JOURNAL\t12/07/2021\tCard Clearing\t30.78\tdemo-20211207-1\tBbot sales 2021-12-07, Demo Bistro",
      "SPL\t\tGENERAL JOURNAL\t12/07/2021\tSales\t-23.88\tdemo-20211207-1\tGross sales",
      "SPL\t\tGENERAL JOURNAL\t12/07/2021\tSales Tax Payable\t-2.12\tdemo-20211207-1\tSales tax",
      "SPL\t\tGENERAL JOURNAL\t12/07/2021\tTips Payable\t-4.78\tdemo-20211207-1\tTips",
      "ENDTRNS",
      "",
    ].join("\r\n");
    assert.equal(renderEntry(sampleEntry(), "iif", options), expected);
  });

  it("JSON document content", () => {
    const line = (
      accountName: string,
      accountCode: string,
      role: string,
      kind: string,
      description: string,
      debitCents: number,
      creditCents: number,
    ) => [
      "    {",
      `      "accountName": "${accountName}",`,
      `      "accountCode": "${accountCode}",`,
      `      "role": "${role}",`,
      `      "kind": "${kind}",`,
      `      "description": "${description}",`,
      `      "debitCents": ${debitCents},`,
      `      "creditCents": ${creditCents},`,
      `      "debit": "${formatCents(debitCents)}",`,
      `      "credit": "${formatCents(creditCents)}"`,
    ];
    const expected = [
      "{",
      '  "restaurantId": "demo",',
      '  "restaurantName": "Demo Bistro",',
      '  "businessDate": "2021-12-07",',
      '  "revision": 1,',
      '  "kind": "day",',
      '  "journalNo": "demo-20211207-1",',
      '  "memo": "Bbot sales 2021-12-07, Demo Bistro",',
      '  "currency": "USD",',
      '  "totalDebitCents": 3078,',
      '  "totalCreditCents": 3078,',
      '  "lines": [',
      ...line(
        "Card Clearing",
        "1200",
        "cardClearing",
        "payments",
        "Card payments",
        3078,
        0,
      ),
      "    },",
      ...line("Sales", "4000", "sales", "grossSales", "Gross sales", 0, 2388),
      "    },",
      ...line(
        "Sales Tax Payable",
        "2200",
        "salesTaxPayable",
        "salesTax",
        "Sales tax",
        0,
        212,
      ),
      "    },",
      ...line("Tips Payable", "2300", "tipsPayable", "tips", "Tips", 0, 478),
      "    }",
      "  ]",
      "}",
      "",
    ].join("\n");
    assert.equal(renderEntry(sampleEntry(), "json", options), expected);
  });

  it("CSV quotes commas, quotes and line breaks", () => {
    const entry = sampleEntry();
    entry.lines[1]!.account = { name: 'Sales, "Main" Room', code: "4,000" };
    entry.lines[2]!.description = "Sales\ntax";
    const qbo = renderEntry(entry, "qbo-csv", {
      ...options,
      byteOrderMark: false,
    });
    assert.ok(!qbo.startsWith(BOM));
    assert.ok(
      qbo.includes(
        'demo-20211207-1,12/07/2021,"Sales, ""Main"" Room",,23.88,Gross sales\r\n',
      ),
    );
    assert.ok(qbo.includes(',2.12,"Sales\ntax"\r\n'));

    const xero = renderEntry(entry, "xero-csv", options);
    assert.ok(xero.includes(',Gross sales,"4,000",Tax Exempt,-23.88\r\n'));
  });

  it("IIF replaces tabs and line breaks in names", () => {
    const entry = sampleEntry();
    entry.lines[1]!.account = { name: "Sales\tBar\r\nFood", code: "4000" };
    const iif = renderEntry(entry, "iif", options);
    assert.ok(iif.includes("\tSales Bar Food\t-23.88\t"));
  });
});

describe("balance check", () => {
  it("rejects an entry whose sides differ", () => {
    const entry = sampleEntry();
    entry.lines[3]!.creditCents = 477;
    assert.throws(
      () => assertBalanced(entry),
      (error: Error) => {
        assert.ok(error instanceof UnbalancedEntryError);
        assert.match(error.message, /does not balance/);
        assert.match(error.message, /debits 30\.78/);
        assert.match(error.message, /credits 30\.77/);
        assert.match(error.message, /Tips Payable Tips 4\.77/);
        return true;
      },
    );
  });

  it("rejects a line with both sides", () => {
    const entry = sampleEntry();
    entry.lines[0]!.creditCents = 1;
    assert.throws(
      () => assertBalanced(entry),
      /invalid line for Card Clearing/,
    );
  });
});
