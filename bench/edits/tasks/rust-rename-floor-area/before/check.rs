include!("lib.rs");

fn room(w: f64, d: f64) -> Room {
    Room { name: "r".to_string(), width: w, depth: d }
}

#[test]
fn floor_area_multiplies() {
    assert_eq!(floor_area(2.0, 3.0), 6.0);
}

#[test]
fn old_name_is_gone() {
    assert!(!include_str!("lib.rs").contains("fn area("));
}

#[test]
fn callers_still_work() {
    assert_eq!(room_area(&room(2.0, 2.5)), 5.0);
    assert_eq!(total_area(&[room(1.0, 1.0), room(2.0, 3.0)]), 7.0);
}
