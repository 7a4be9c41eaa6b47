//! The every-type test component: each `echo-*` function of `witmesh:every-type/echo@0.1.0`
//! returns its input, and the component implements the `counter` resource of `types` itself
//! (world `every-type-component`).

wit_bindgen::generate!({
    world: "every-type-component",
    path: "../../wit/every-type",
});

use exports::witmesh::every_type::echo::{
    Blob, Color, Counter, CounterBorrow, Everything, Guest as Echo, Permissions, Point, Shape, TreeNode,
    WideFlags,
};
use exports::witmesh::every_type::types::{Guest as Types, GuestCounter};

struct EveryType;

/// The guest side of `counter`: the value it was constructed with.
struct MyCounter {
    start: u64,
}

impl GuestCounter for MyCounter {
    fn new(start: u64) -> Self {
        MyCounter { start }
    }

    fn get(&self) -> u64 {
        self.start
    }
}

impl Types for EveryType {
    type Counter = MyCounter;
}

impl Echo for EveryType {
    fn echo_bool(v: bool) -> bool {
        v
    }
    fn echo_s8(v: i8) -> i8 {
        v
    }
    fn echo_s16(v: i16) -> i16 {
        v
    }
    fn echo_s32(v: i32) -> i32 {
        v
    }
    fn echo_s64(v: i64) -> i64 {
        v
    }
    fn echo_u8(v: u8) -> u8 {
        v
    }
    fn echo_u16(v: u16) -> u16 {
        v
    }
    fn echo_u32(v: u32) -> u32 {
        v
    }
    fn echo_u64(v: u64) -> u64 {
        v
    }
    fn echo_f32(v: f32) -> f32 {
        v
    }
    fn echo_f64(v: f64) -> f64 {
        v
    }
    fn echo_char(v: char) -> char {
        v
    }
    fn echo_string(v: String) -> String {
        v
    }
    fn echo_bytes(v: Vec<u8>) -> Vec<u8> {
        v
    }
    fn echo_blob(v: Blob) -> Blob {
        v
    }
    fn echo_list(v: Vec<Point>) -> Vec<Point> {
        v
    }
    fn echo_record(v: Point) -> Point {
        v
    }
    fn echo_tuple(v: (u8, String, f64)) -> (u8, String, f64) {
        v
    }
    fn echo_variant(v: Shape) -> Shape {
        v
    }
    fn echo_enum(v: Color) -> Color {
        v
    }
    fn echo_option(v: Option<String>) -> Option<String> {
        v
    }
    fn echo_result(v: Result<Point, String>) -> Result<Point, String> {
        v
    }
    fn echo_flags(v: Permissions) -> Permissions {
        v
    }
    fn echo_wide_flags(v: WideFlags) -> WideFlags {
        v
    }
    fn echo_everything(v: Everything) -> Everything {
        v
    }
    fn echo_nested(v: TreeNode) -> TreeNode {
        v
    }
    fn echo_many(
        a: u32,
        b: String,
        c: Vec<u8>,
        d: Option<bool>,
    ) -> (u32, String, Vec<u8>, Option<bool>) {
        (a, b, c, d)
    }
    fn echo_unit() {}
    fn echo_own(v: Counter) -> Counter {
        v
    }
    fn echo_borrow(v: CounterBorrow<'_>) -> u64 {
        v.get::<MyCounter>().get()
    }
}

export!(EveryType);
