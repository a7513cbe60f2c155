import type { OrderItem } from "../../src/orders/model.ts";

/** A mod of a POS line, with its POS code. */
export interface PosMod {
  modId: string;
  plu: string;
  name: string;
  pretaxCents: number;
  taxCents: number;
}

/** One unit of a menu item as the POS books it. Bbot sends each unit as its own item. */
export interface PosLine {
  itemId: string;
  menuItemId: string;
  plu: string;
  name: string;
  quantity: 1;
  /** The item's own pretax without its mods, in cents. */
  unitPriceCents: number;
  /** Pretax of the item with its mods, after promotions, in cents. */
  pretaxCents: number;
  /** Tax of the item with its mods, in cents. */
  taxCents: number;
  mods: PosMod[];
  specialInstructions: string;
  status: string;
}

/** The PLU tables of the options. */
export interface PluTables {
  items: Record<string, string>;
  mods: Record<string, string>;
}

/** Bbot ids without a PLU, each with the name the menu gives it. */
export class UnmappedIds {
  readonly items = new Map<string, string>();
  readonly mods = new Map<string, string>();

  get empty(): boolean {
    return this.items.size === 0 && this.mods.size === 0;
  }

  /** Describes the missing ids and where to add them. */
  describe(): string {
    const list = (ids: Map<string, string>) =>
      [...ids].map(([id, name]) => `${id} (${name})`).join(", ");
    const parts: string[] = [];
    if (this.items.size > 0)
      parts.push(`menu items ${list(this.items)} missing from options.items`);
    if (this.mods.size > 0)
      parts.push(`mods ${list(this.mods)} missing from options.mods`);
    return `order has Bbot ids without a POS code: ${parts.join("; ")}. Add them to the POS entry's options and replay the dead letter`;
  }
}

/** Item id placeholder for an item that Bbot sent without a menu item id. */
const NO_MENU_ITEM_ID = "(no menuItemId)";

/**
 * Maps order items to POS lines through the PLU tables. Items or mods without a PLU are added
 * to `unmapped` and left out of the result, so the caller must check `unmapped` before sending.
 */
export function mapLines(
  items: readonly OrderItem[],
  tables: PluTables,
  unmapped: UnmappedIds,
): PosLine[] {
  const lines: PosLine[] = [];
  for (const item of items) {
    const menuItemId = item.menuItemId ?? NO_MENU_ITEM_ID;
    const plu = lookup(tables.items, item.menuItemId);
    if (plu === undefined) unmapped.items.set(menuItemId, item.name);

    const mods: PosMod[] = [];
    for (const mod of item.mods) {
      const modPlu = lookup(tables.mods, mod.modId);
      if (modPlu === undefined) unmapped.mods.set(mod.modId, mod.name);
      else mods.push({ ...mod, plu: modPlu });
    }
    if (plu === undefined) continue;

    const modsPretax = item.mods.reduce((sum, mod) => sum + mod.pretaxCents, 0);
    lines.push({
      itemId: item.itemId,
      menuItemId,
      plu,
      name: item.name,
      quantity: 1,
      unitPriceCents: item.pretaxCents - modsPretax,
      pretaxCents: item.pretaxCents,
      taxCents: item.taxCents,
      mods,
      specialInstructions: item.specialInstructions,
      status: item.status,
    });
  }
  return lines;
}

function lookup(
  table: Record<string, string>,
  id: string | null,
): string | undefined {
  if (id === null || !Object.hasOwn(table, id)) return undefined;
  return table[id];
}
