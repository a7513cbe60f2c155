import * as yup from "yup";

/**
 * Replaces yup's default type message ("must be a `object` type, but the final value was …"),
 * which echoes the value in yup's own notation, with a plain sentence. Imported by every
 * module that defines a schema, so config and webhook errors read alike.
 */
yup.setLocale({
  mixed: {
    notType: ({ type }: { type: string }) => {
      const article = /^[aeiou]/.test(type) ? "an" : "a";
      return `must be ${article} ${type}`;
    },
  },
});
