// Reads a WebDataset split's index.parquet with hyparquet (a Parquet reader
// vpipe did not write) and prints its rows as JSON.
// usage: node read_index.mjs HYPARQUET_DIR INDEX_FILE
const [, , lib, file] = process.argv
const { parquetReadObjects, asyncBufferFromFile, toJson } = await import(lib + '/src/node.js')
const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file) })
process.stdout.write(JSON.stringify(toJson(rows)))
