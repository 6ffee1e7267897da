export { DeclarationError, ExpressionError, type Fn, type Loc, type Node, type Scope } from "./ast.js";
export { Compiler, type TagSpec, type Shape } from "./compiler.js";
export { Expression, ExpressionBuilder, FolderLibrary, MemoryLibrary, type DeclarationLibrary, type ParseOptions } from "./ExpressionBuilder.js";
export { ExpressionOptimizer } from "./optimizer.js";
export { formatNode } from "./format.js";
export { clock } from "./timefmt.js";
