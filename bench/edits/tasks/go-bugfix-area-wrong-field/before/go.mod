module example.com/rect

go 1.19
