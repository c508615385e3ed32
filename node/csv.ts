// CSV reading shared by the eval converter and the demo's "try it on your catalog".

export interface CsvRows {
  rows: string[][]
  /** The line (1-based) each row starts on, for error messages (a quoted field may span lines). */
  lines: number[]
  /** The line of a quote that never closes (the rest of the file became one field), else undefined. */
  unclosedQuote?: number
}

/** RFC 4180-ish: commas, double-quoted fields with "" escapes (commas and newlines inside quotes), \n or \r\n line ends. Blank rows are skipped. */
export function parseCsvRows(text: string): CsvRows {
  const rows: string[][] = []
  const lines: number[] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  let line = 1
  let rowLine = 1
  let quoteLine = 0
  const endRow = () => {
    row.push(field)
    if (row.some((f) => f.trim() !== '')) rows.push(row), lines.push(rowLine)
    row = []
    field = ''
    rowLine = line
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++
      else if (c === '"') quoted = false
      else {
        if (c === '\n') line++
        field += c
      }
    } else if (c === '"') (quoted = true), (quoteLine = line)
    else if (c === ',') row.push(field), (field = '')
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      line++
      endRow()
    } else field += c
  }
  const unclosed = quoted ? quoteLine : undefined
  endRow()
  return { rows, lines, ...(unclosed !== undefined ? { unclosedQuote: unclosed } : {}) }
}

/** The rows of parseCsvRows, without line numbers. */
export function parseCsv(text: string): string[][] {
  return parseCsvRows(text).rows
}
