pub struct Room {
    pub name: String,
    pub width: f64,
    pub depth: f64,
}

pub fn floor_area(width: f64, depth: f64) -> f64 {
    width * depth
}

pub fn room_area(room: &Room) -> f64 {
    floor_area(room.width, room.depth)
}

pub fn total_area(rooms: &[Room]) -> f64 {
    rooms.iter().map(room_area).sum()
}
